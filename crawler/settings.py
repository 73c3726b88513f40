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
# 429 and 503 wait for Retry-After (or back off) in crawler.middlewares.RetryAfterMiddleware.
RETRY_HTTP_CODES = [500, 502, 504, 522, 524, 408]
DOWNLOAD_TIMEOUT = 30
# A news page is well under 1 MB. Past 32 MiB it is not an article page (a 20 MB page takes
# about 0.5 GB of memory and seconds to extract, a 1 GiB one, Scrapy's default cap, would end
# the crawl); `gonghui extract` refuses the same size (page_too_large). Counted when cancelled.
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
COOKIES_ENABLED = False
# The codings the crawler asks for: gzip and deflate, as Heritrix does. Scrapy would also ask
# for br and zstd. The WARC keeps a body as the server coded it, and warcio (`warcio check`,
# pywb) reads br only through brotlipy, which cannot be installed beside the brotli Scrapy
# needs (warcio issue 73), and zstd not at all. A server that sends br or zstd unasked is
# still archived as sent and read back by archive/warc_read.py.
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en",
    "Accept-Encoding": "gzip, deflate",
}
TELNETCONSOLE_ENABLED = False
# 404 and 410 reach the spider: the page is archived as gone and counted, not silently lost.
HTTPERROR_ALLOWED_CODES = [404, 410]
# Pages are decoded from bytes by crawler.decode; Scrapy's own guess is never used.
ITEM_PIPELINES = {"crawler.pipelines.archive.ArchivePipeline": 300}
# Politeness Scrapy lacks (crawler/middlewares.py): Crawl-delay from robots.txt, Retry-After,
# a site that keeps failing stopped, allowed hosts compared with their port.
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.middlewares.AllowedHostsMiddleware": 50,
    # Counts each <meta refresh> page it replaces by its target (crawler/drops.py).
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.drops.MetaRefreshCounted": 580,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.CrawlDelayRobotsTxtMiddleware": 100,
    "crawler.middlewares.RetryAfterMiddleware": 560,  # sees responses before RetryMiddleware
    "crawler.middlewares.ErrorBudgetMiddleware": 570,  # sees every answer, retried ones too
    # One delay and concurrency per host for all the crawls of the process (crawler/hostgate.py):
    # last before the downloader, first after it, so what a request takes it gives back.
    "crawler.hostgate.HostGateMiddleware": 950,
}
# The WARC keeps each exchange as it crossed the connection (crawler/rawcapture.py).
DOWNLOAD_HANDLERS = {
    "http": "crawler.rawcapture.RawCaptureDownloadHandler",
    "https": "crawler.rawcapture.RawCaptureDownloadHandler",
}
# The archive's User-Agent (GONGHUI_USER_AGENT) for plain `scrapy crawl` too (crawler/addon.py).
ADDONS = {"crawler.addon.GonghuiAddon": 0}
EXTENSIONS = {
    "scrapy.extensions.throttle.AutoThrottle": None,
    "crawler.middlewares.PoliteAutoThrottle": 0,
    "crawler.logs.QuietFailures": 0,  # one line, no traceback, for an unreachable robots.txt
}
GONGHUI_BACKOFF_HTTP_CODES = [429, 503]
GONGHUI_BACKOFF_BASE = 2.0  # seconds before the first retry when there is no Retry-After
GONGHUI_BACKOFF_MAX = 60.0
# Per site from the seed's [politeness] (runner.crawl_settings); these are its defaults.
GONGHUI_MAX_RETRY_AFTER = 300.0
GONGHUI_MAX_CRAWL_DELAY = 60.0
GONGHUI_MAX_ERRORS = 20
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
# Per-response work Scrapy would do for nothing here (measured: benchmarks/scrapy_overhead.py).
# - Scrapy starts CONCURRENT_ITEMS asyncio workers for every response, whatever it yields;
#   ours yield one item and a few requests, and the pipeline stores one page at a time. 100
#   (the default) idle workers per response cost more than the page's storage; 4 keep a
#   page's requests moving while its item waits out a storage retry.
CONCURRENT_ITEMS = 4
# - The check for a generator callback that returns a value re-parses the callback's source
#   with ast.parse on every response (its cache is keyed by the bound method, a new object
#   each time). Our callbacks return nothing; tests/test_settings_overhead.py checks they stay so.
WARN_ON_GENERATOR_RETURN_VALUE = False
LOG_LEVEL = "INFO"
