"""The bundled sample site: local copies of each source's templates, served on 127.0.0.1."""
