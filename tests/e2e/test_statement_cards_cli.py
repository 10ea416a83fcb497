"""``oretrail miners card``: a new statement link for a miner, saved as a printable card with its QR code."""
from __future__ import annotations

import os
import subprocess
import sys

from services.demo import seed_demo


def oretrail(settings, *args):
    env = {**os.environ, "ORETRAIL_DATA_DIR": str(settings.data_dir), "ORETRAIL_DATABASE_URL": settings.database_url}
    return subprocess.run([sys.executable, "-m", "composition.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_a_card_is_saved_with_the_link_and_opens_that_miners_statement(platform, settings, tmp_path):
    seed_demo(platform)
    card = tmp_path / "card.svg"
    made = oretrail(settings, "miners", "card", "miner-003", "--out", str(card))
    assert made.returncode == 0, made.stderr
    url = made.stdout.strip().splitlines()[-1]
    assert url.startswith(settings.public_base_url + "/m/")
    html = card.read_text()
    assert "<svg" in html and url in html and "miner-003" in html
    assert "Piga picha ya msimbo huu" in html and "Zwa foto ya kode oyo" in html  # every language of the statement
    page = platform.create_app().test_client().get(url.removeprefix(settings.public_base_url) + "?lang=en")
    assert page.status_code == 200 and "Statement of miner miner-003" in page.get_data(as_text=True)
    unknown = oretrail(settings, "miners", "card", "nobody", "--out", str(tmp_path / "no.svg"))
    assert unknown.returncode == 2 and "no miner 'nobody'" in unknown.stderr
    assert not (tmp_path / "no.svg").exists()
