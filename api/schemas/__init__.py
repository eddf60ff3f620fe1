"""Request and response bodies, one module per feature (``api/schemas/<feature>.py``).

Routes import them from their feature's module; domain objects are never returned as-is.
Every JSON route names its body in ``response_model`` (``tests/unit/api/test_openapi.py``).
"""
