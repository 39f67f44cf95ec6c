"""The reference collection server: records, review, code binding, tokens, retention.

``app.create_app(config)`` builds the FastAPI application; ``embedded.EmbeddedServer``
runs it on a loopback port inside another process (the demo and the tests);
``kiosk server`` runs it under uvicorn. The HTTP contract is in docs/architecture.md.
"""
