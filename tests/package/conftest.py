"""The `package` marker: tests that run the artifacts `sam build` produced (.aws-sam/build)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "package: runs the built Lambda package from .aws-sam/build (`make build` first)")
