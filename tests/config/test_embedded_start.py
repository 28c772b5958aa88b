"""bin/start's product shape, run for real: gunicorn with ``config.settings.embedded`` (DEBUG off),
static files through whitenoise after ``collectstatic``, Swagger UI from the app's own files."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _env(var_dir: Path, port: int) -> dict:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "ELASTICSEARCH_URL", "CELERY_BROKER_URL", "SITE_URL"}
    }
    return {
        **clean,
        "DJANGO_SETTINGS_MODULE": "config.settings.embedded",
        "TA_VAR_DIR": str(var_dir),
        "TA_PORT": str(port),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, language: str = "en") -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers={"Accept-Language": language})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("var")
    port = _free_port()
    env = _env(var_dir, port)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True, timeout=300
    )
    process = subprocess.Popen(
        [
            str(GUNICORN),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--no-control-socket",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _attempt in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail(process.stdout.read().decode())
            time.sleep(0.1)
    yield base
    process.terminate()
    process.wait(timeout=20)


def test_a_stale_link_is_the_apps_own_404_page_not_the_debug_page(served):
    status, _headers, body = _get(served + "/no-such-page/", language="fr")
    assert status == 404
    page = body.decode()
    assert "URLconf" not in page
    assert "DEBUG = True" not in page
    assert 'class="site"' in page  # the app's header
    assert 'lang="fr"' in page
    assert "Page introuvable" in page


def test_static_files_are_served_by_whitenoise_with_hashed_names(served):
    _status, _headers, body = _get(served + "/accounts/login/")
    stylesheet = re.search(r'href="(/static/web/app\.[0-9a-f]{12}\.css)"', body.decode())
    assert stylesheet, "the stylesheet is not a hashed (collected) file"
    status, headers, _body = _get(served + stylesheet.group(1))
    assert status == 200
    assert "max-age=315360000" in headers.get("Cache-Control", "")


def test_the_favicon_is_served(served):
    status, headers, body = _get(served + "/favicon.ico")
    assert status == 200
    assert headers["Content-Type"].startswith("image/svg+xml")
    assert body.startswith(b"<svg")


def test_swagger_ui_comes_from_the_app_not_a_cdn(served):
    status, _headers, body = _get(served + "/api/docs/")
    assert status == 200
    page = body.decode()
    assert "cdn." not in page
    assert "jsdelivr" not in page
    assert "unpkg" not in page
    scripts = re.findall(r'src="([^"]+)"', page)
    assert any("swagger-ui-bundle" in src for src in scripts), scripts
    for src in scripts:
        assert src.startswith("/"), src  # same origin
        assert _get(served + src)[0] == 200, src


def test_site_url_follows_the_served_port(tmp_path):
    code = "from django.conf import settings as s; print(s.SITE_URL, s.DEBUG)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=_env(tmp_path, 8123),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["http://127.0.0.1:8123", "False"]
