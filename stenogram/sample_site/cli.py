"""`stenogram sample-site`: serve the bundled local copy of the sources until interrupted."""
from __future__ import annotations

import json
import os
import signal
import threading

import click

from stenogram.inputs import Bounded

from stenogram.sample_site.server import SampleSite


@click.command("sample-site")
@click.option("--port", type=Bounded(0, 65531), default=0, show_default=True,
              help="mid on PORT, mid_archive PORT+1, globalsecurity PORT+2, interaffairs PORT+3, "
                   "mid_domino PORT+4; 0 picks free ports.")
@click.option("--size", type=Bounded(0, 100_000), default=200, show_default=True,
              help="Number of generated filler transcripts.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed for the filler generator.")
@click.option("--edit", "edits", type=Bounded(0, 100_000), default=0, show_default=True,
              help="Silently edit the N newest English mid.ru transcripts when sent SIGUSR1 "
                   "(`kill -USR1 PID` between two crawls): same URL, new text.")
@click.option("--domino-later", is_flag=True,
              help="Serve the Domino-era copy as it is today: one document silently edited, one "
                   "removed (404); without it, as web archives captured it. `kill -USR2 PID` switches.")
@click.option("--feed-format", type=click.Choice(["rss", "atom"]), default="rss", show_default=True,
              help="mid.ru's /en/rss.php and /ru/rss.php as RSS 2.0 (as live) or Atom 1.0.")
def sample_site(port: int, size: int, seed: int, edits: int, domino_later: bool, feed_format: str) -> None:
    """Serve the sample site on 127.0.0.1 and print the base-URL map as JSON."""
    site = SampleSite(port=port, size=size, seed=seed, domino_later=domino_later, feed_format=feed_format).start()

    def domino_now(_signum, _frame):
        changed = site.domino_changes()
        click.echo(f"mid_domino: edited {changed['edited'].key}, removed {changed['removed'].key}", err=True)

    def edit_now(_signum, _frame):
        for t in site.silent_edits(edits):
            click.echo(f"edited {t.key} (revision {t.revision}): {site.base_urls['mid']}"
                       f"{t.copies['mid'].path}", err=True)

    # handlers first: the JSON below tells a caller the site is ready, signals included
    signal.signal(signal.SIGUSR2, domino_now)
    if edits:
        signal.signal(signal.SIGUSR1, edit_now)
    click.echo(json.dumps(site.base_urls, indent=2))
    click.echo(f"{len(site.catalog)} transcripts; Ctrl-C to stop.", err=True)
    if edits:
        click.echo(f"kill -USR1 {os.getpid()} edits {edits} transcript(s) in place.", err=True)
    try:
        # Wake up twice a second: the kernel may deliver a signal to a listener thread, and
        # Python runs its handlers only in the main thread, which an endless wait never leaves.
        forever = threading.Event()
        while not forever.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()


commands = [sample_site]
