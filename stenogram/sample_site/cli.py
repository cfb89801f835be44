"""`stenogram sample-site`: serve the bundled local copy of the sources until interrupted."""
from __future__ import annotations

import json
import threading

import click

from stenogram.sample_site.server import SampleSite


@click.command("sample-site")
@click.option("--port", type=int, default=0, show_default=True,
              help="mid on PORT, mid_archive PORT+1, globalsecurity PORT+2, interaffairs PORT+3; 0 picks free ports.")
@click.option("--size", type=int, default=200, show_default=True, help="Number of generated filler transcripts.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed for the filler generator.")
def sample_site(port: int, size: int, seed: int) -> None:
    """Serve the sample site on 127.0.0.1 and print the base-URL map as JSON."""
    site = SampleSite(port=port, size=size, seed=seed).start()
    click.echo(json.dumps(site.base_urls, indent=2))
    click.echo(f"{len(site.catalog)} transcripts; Ctrl-C to stop.", err=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()


commands = [sample_site]
