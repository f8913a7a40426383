"""User code that ``mypy --strict`` must accept (tests/test_typed_user_code.py runs it)."""
