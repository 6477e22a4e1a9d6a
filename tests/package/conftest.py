"""The `package` marker: tests that run or read the artifacts `make build` produced (.aws-sam/build, arm64, and .aws-sam/build-x86_64)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "package: runs or reads the built Lambda packages in .aws-sam (`make build` first)")
