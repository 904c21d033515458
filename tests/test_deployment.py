"""The Dockerfile and the compose file agree with the code they run.

No Docker engine runs in CI, so these read the files: every setting they set
exists, the database driver they name is installed, and the image runs as a
non-root user with a health check.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import make_url

from gatesim.settings import Settings

ROOT = Path(__file__).parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = (ROOT / "compose.yaml").read_text()


def test_every_setting_the_deployment_files_set_exists() -> None:
    named = set(re.findall(r"\bGATESIM_([A-Z_]+[A-Z])\b", DOCKERFILE + COMPOSE))
    named.discard("WORKERS")  # a compose variable, passed to --workers

    unknown = {name for name in named if name.lower() not in Settings.model_fields}

    assert named
    assert not unknown


def test_the_compose_database_url_names_an_installed_driver() -> None:
    url = re.search(r"GATESIM_DATABASE_URL: (\S+)", COMPOSE)
    assert url is not None
    plain_url = re.sub(r"\$\{[^}]*\}", "secret", url.group(1))

    dialect = make_url(plain_url).get_dialect()

    assert dialect.name == "postgresql"
    assert dialect.import_dbapi() is not None


def test_the_image_runs_as_a_user_with_a_health_check() -> None:
    users = re.findall(r"^USER (\S+)", DOCKERFILE, flags=re.MULTILINE)

    assert users
    assert users[-1] not in {"root", "0"}
    assert "HEALTHCHECK" in DOCKERFILE
    assert "/ready" in COMPOSE
