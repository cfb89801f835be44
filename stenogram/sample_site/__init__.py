"""The bundled sample site: local copies of each source's templates, served on 127.0.0.1.

- `content` — the `Catalog` (seeds from `content/seeds/*.json`, Russian counterparts from
  `content/russian/*.json`, seeded fillers) with every URL each transcript is served at.
- `sites/` — one renderer per platform (Bitrix mid.ru, Liferay archive.mid.ru, globalsecurity,
  DataLife Engine interaffairs), pure functions of a `messages.Request`.
- `server.SampleSite` — one listener per source, a single `dispatch` with the `faults` hook.
- `cli` — the `sample-site` command.
"""
