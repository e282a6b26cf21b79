"""Test support shared by every app's tests: real services, real server processes."""
