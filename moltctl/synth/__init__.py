"""Synthetic Molt Observatory pipeline runs, for tests, benchmarks and the quick start.

``generate_runs`` writes consecutive hourly pulls of a simulated Moltbook as run directories
(layout B, or A) or as single-file NDJSON bundles (optionally gzipped), deterministic for a seed
(same arguments, same bytes). The simulated world:

- agents whose activity is Zipf-distributed (a few authors write most posts and comments), whose
  profiles drift between runs (karma and followers grow for the active ones; a rare bio, display
  name or avatar change; most agents are unchanged from one run to the next); new agents join;
- each run observes the newest ``posts`` posts: ``new_posts_per_run`` new ones appear each run,
  the others are re-observed with grown votes and late comments;
- comment trees of varied depth (replies to replies), of heavy-tailed size per post;
- judge evaluations of every observed post and comment on the four dimensions: scores 0-10,
  mostly low, a tail >= 7 (risky agents score higher), some halves like 6.5, with confidence,
  evidence quotes taken from the text, and an explanation.

Everything is streamed: memory stays bounded (agents' state only) whatever the number of posts.
Optional *hazards* inject what real scraped data contains (NUL characters, lone surrogates,
NaN in evaluations, timestamps without a zone, very long text, unusual emoji) into a fraction
of the records, for the ingest's cleaning tests.

Modules: ``config`` (the choices and their validation), ``rand`` and ``text`` (deterministic
draws, the vocabulary), ``world`` (agents, submolts, posts, comment trees, evolving per run),
``records`` (the API and extracted record shapes), ``writer`` (the interface and what writers
share) with ``bundle`` and ``rundir`` (the two formats), ``generate`` (``generate_runs``).
"""

from moltctl.synth.config import DEFAULT_START, DIALECTS, DIMENSIONS, FORMATS, HAZARDS, LAYOUTS
from moltctl.synth.generate import generate_runs
from moltctl.synth.writer import RunInfo, run_id_for

__all__ = [
    "DEFAULT_START",
    "DIALECTS",
    "DIMENSIONS",
    "FORMATS",
    "HAZARDS",
    "LAYOUTS",
    "RunInfo",
    "generate_runs",
    "run_id_for",
]
