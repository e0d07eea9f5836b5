"""The studio: a local web app over the job layer (``museforge studio``).

``db`` (tables, connections, migrations), ``queue`` (the persistent job queue), ``worker`` (the
processes that run jobs), ``api`` (the FastAPI app), ``server`` (workers + uvicorn).
"""
