"""The production stack is described correctly (no Docker engine runs here, so it is checked as data)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_the_whole_production_stack():
    services = _compose()["services"]
    assert {"postgres", "redis", "web", "worker", "beat", "scim-demo", "migrate"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert "gunicorn" not in str(services["worker"]["command"])
    assert services["worker"]["command"][:4] == ["celery", "-A", "portal", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "portal", "beat"]
    for name in ("postgres", "redis", "web", "worker", "scim-demo"):
        assert "healthcheck" in services[name], name


def test_compose_wires_every_app_container_to_postgres_and_redis():
    services = _compose()["services"]
    for name in ("web", "worker", "beat", "migrate"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
        assert env["DEBUG"] == "false"
        assert "SECRET_KEY" in env and "FIELD_ENCRYPTION_KEYS" in env
        assert services[name]["depends_on"]


def test_dockerfile_builds_the_app_image_with_static_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("FROM python:3.11")
    assert "collectstatic" in dockerfile and "gunicorn" in dockerfile
    assert "USER portal" in dockerfile


def test_readme_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1]
    block = quick_start.split("```", 2)[1].splitlines()[1:]
    commands = [line for line in block if line.strip()]
    assert len(commands) == 2
    assert "manage.py start" in commands[0] and "python -m tests" in commands[1]
