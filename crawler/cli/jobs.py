"""`gonghui jobs`: what the workers' queue holds."""

from __future__ import annotations

import click

from crawler.cli.main import settings_of


def _when(value: object) -> str:
    return value.strftime("%m-%d %H:%M:%S") if value is not None else "-"  # type: ignore[attr-defined]


@click.command(name="jobs")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(["todo", "doing", "stalled", "succeeded", "failed", "cancelled", "aborted"]),
    help="Only jobs in this state (repeatable) [default: all].",
)
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.pass_context
def command(ctx: click.Context, states: tuple[str, ...], limit: int) -> None:
    """List the newest jobs: queued (todo), running (doing), stalled (their worker is gone;
    any worker queues them again), succeeded and failed.

    \b
    Example:
      gonghui jobs
      gonghui jobs --state failed --state stalled
    """
    from jobs.config import load_queue_settings
    from jobs.listing import describe_args, list_jobs

    rows = list_jobs(load_queue_settings(settings_of(ctx)), states, limit)
    if not rows:
        click.echo("no jobs")
        return
    click.echo(
        f"{'id':>6}  {'state':9} {'task':16} {'lock':20} {'tries':>5}  {'started':14} "
        f"{'ended':14} args"
    )
    for r in rows:
        click.echo(
            f"{r.id:>6}  {r.state:9} {r.task:16} {r.lock or '-':20} {r.attempts:>5}  "
            f"{_when(r.started):14} {_when(r.ended):14} {describe_args(r.args)}"
        )
