"""Scrapy settings shared by every site; per-site politeness comes from the seed file.

Only what differs from Scrapy's defaults is listed. The archive location is read from the
environment by archive.config when the pipeline opens, not here at import time.
"""

BOT_NAME = "gonghui"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

ROBOTSTXT_OBEY = True
ROBOTSTXT_PARSER = "scrapy.robotstxt.ProtegoRobotParser"
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 2.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_TIMES = 2
DOWNLOAD_TIMEOUT = 30
# A news page is well under 1 MB. Past 32 MiB it is not an article page (a 20 MB page takes
# about 0.5 GB of memory and seconds to extract, a 1 GiB one, Scrapy's default cap, would end
# the crawl); `gonghui extract` refuses the same size (page_too_large). Counted when cancelled.
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# 404 and 410 reach the spider: the page is archived as gone and counted, not silently lost.
HTTPERROR_ALLOWED_CODES = [404, 410]
# Pages are decoded from bytes by crawler.decode; Scrapy's own guess is never used.
ITEM_PIPELINES = {"crawler.pipelines.archive.ArchivePipeline": 300}
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
LOG_LEVEL = "INFO"
