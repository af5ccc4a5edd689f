"""The page at `/` in a real browser (headless Chromium driven by Selenium) against real servers.

Each check reads what a person sees — the card, the score table, the Shapley bars — and compares
it with what the API itself answers for the same request, so the page can only pass by showing
the API's own numbers.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scoring_runtime.http.page import FOLDER
from tests.server_process import REPO, ServerProcess, start_server

pytestmark = pytest.mark.integration

AIRLINES = REPO / "models" / "airlines" / "distance.zip"
PREFIX = "/scoring"
PASSPHRASE = "page-test-passphrase"
README_ROW = {
    "Origin": "DEN",
    "Dest": "ONT",
    "fDayofMonth": "14",
    "fYear": "2004",
    "UniqueCarrier": "UA",
    "fDayOfWeek": "3",
    "fMonth": "NA",
    "IsDepDelayed": "NO",
}
SCREENSHOT = os.environ.get("SCORER_PAGE_SCREENSHOT")
"""Where to keep the screenshot of the scored page (docs/page.png is made this way)."""


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    driver_path = shutil.which("chromedriver")
    if driver_path is None:
        message = "chromedriver is missing: scripts/install.sh installs chromium and chromium-driver as root"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,1700"):
        options.add_argument(argument)
    if chromium := shutil.which("chromium"):
        options.binary_location = chromium
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The airlines MOJO (Shapley values, calibrated intervals) under a prefix and a passphrase."""
    server = start_server(
        AIRLINES,
        tmp_path_factory.mktemp("page"),
        env={"SCORER_PATH_PREFIX": PREFIX, "SCORER_PASSPHRASE": PASSPHRASE},
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def deployments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(None, tmp_path_factory.mktemp("page"), "--config", str(REPO / "models" / "deployments.yaml"))
    yield server
    server.stop()


def _api(server: ServerProcess, request: dict, path: str = f"{PREFIX}/model/score") -> dict:
    answer = httpx.post(server.url + path, json=request, headers={"Authorization": f"Bearer {PASSPHRASE}"}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _wait(driver, condition, timeout: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def _by_id(driver, name: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, name)


def _all(driver, selector: str) -> list:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def _table(driver) -> tuple[list[str], list[list[str]]]:
    head = [cell.text for cell in _all(driver, "#scores thead th")][1:]
    rows = [
        [cell.text for cell in row.find_elements("css selector", "td")][1:] for row in _all(driver, "#scores tbody tr")
    ]
    return head, rows


def _sign_in(driver, server: ServerProcess) -> None:
    driver.get(f"{server.url}{PREFIX}/")
    driver.execute_script("sessionStorage.clear()")  # the tab keeps a credential: start without
    driver.refresh()
    _wait(driver, lambda d: _by_id(d, "credential").is_displayed())
    assert "Bearer" in _by_id(driver, "credential-message").text  # the API's own 401 sentence
    _by_id(driver, "credential-input").send_keys(PASSPHRASE)
    _by_id(driver, "credential-form").submit()
    _wait(driver, lambda d: _by_id(d, "try").is_displayed())


def _score(driver, *, shapley: str | None = None, intervals: bool = False) -> None:
    from selenium.webdriver.support.ui import Select

    if shapley:
        Select(_by_id(driver, "shapley-input")).select_by_value(shapley)
    if intervals != _by_id(driver, "intervals-input").is_selected():
        _by_id(driver, "intervals-input").click()
    before = _by_id(driver, "status").text
    _by_id(driver, "score-button").click()
    _wait(driver, lambda d: _by_id(d, "status").text.startswith("Scored") and _by_id(d, "status").text != before)


def test_card_lists_the_model_as_the_api_describes_it(browser, guarded: ServerProcess) -> None:
    _sign_in(browser, guarded)
    headers = {"Authorization": f"Bearer {PASSPHRASE}"}
    schema = httpx.get(f"{guarded.url}{PREFIX}/model/schema?levels=true", headers=headers).json()
    capabilities = httpx.get(f"{guarded.url}{PREFIX}/model/capabilities", headers=headers).json()
    _wait(browser, lambda d: "…" not in _by_id(d, "facts").text)
    facts = {
        row.find_element("css selector", "dt").text: row.find_element("css selector", "dd").text
        for row in _all(browser, "#facts > div")
    }
    assert facts["Name"] == "distance"
    assert facts["Id"] == schema["id"]
    assert facts["Runtime"] == "h2o3_mojo"
    assert facts["Capabilities"] == ", ".join(capabilities)
    assert "SCORE_PREDICTION_INTERVAL" in capabilities and "CONTRIBUTION_ORIGINAL" in capabilities
    inputs = [
        [cell.text for cell in row.find_elements("css selector", "td")]
        for row in _all(browser, "#inputs-table tbody tr")
    ]
    assert [row[:2] for row in inputs] == [[f["name"], f["dataType"]] for f in schema["schema"]["inputFields"]]
    origin = next(f for f in schema["schema"]["inputFields"] if f["name"] == "Origin")
    assert inputs[0][2].startswith(f"{len(origin['levels'])} levels: ABE")
    options = [o.get_attribute("value") for o in _all(browser, "#field-0-levels option")]
    assert options == origin["levels"]


def test_a_scored_row_shows_the_api_s_numbers_its_intervals_and_shapley_bars(browser, guarded: ServerProcess) -> None:
    _sign_in(browser, guarded)
    sample = httpx.get(
        f"{guarded.url}{PREFIX}/model/sample_request", headers={"Authorization": f"Bearer {PASSPHRASE}"}
    ).json()
    for index, name in enumerate(sample["fields"]):
        assert _by_id(browser, f"field-{index}").get_attribute("value") == str(sample["rows"][0][index])
        field = _by_id(browser, f"field-{index}")
        field.clear()
        field.send_keys(README_ROW[name])
    _score(browser, shapley="ORIGINAL", intervals=True)
    expected = _api(
        guarded,
        {
            "fields": list(README_ROW),
            "rows": [list(README_ROW.values())],
            "requestShapleyValueType": "ORIGINAL",
            "requestPredictionIntervals": True,
        },
    )
    head, rows = _table(browser)
    assert head == expected["fields"] + expected["predictionIntervals"]["fields"]
    assert rows == [expected["score"][0] + expected["predictionIntervals"]["rows"][0]]
    contributions = expected["featureShapleyContributions"]
    bars = {
        bar.get_attribute("data-feature"): float(bar.get_attribute("data-value"))
        for bar in _all(browser, "#charts rect.bar")
    }
    values = dict(
        zip(
            contributions["features"],
            map(float, contributions["contributionGroups"][0]["contributions"][0]),
            strict=True,
        )
    )
    assert bars == {feature: value for feature, value in values.items() if feature != "contrib_bias"}
    assert len(_all(browser, "#charts figure")) == 1
    if SCREENSHOT:
        height = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]["height"]
        metrics = {"width": 1200, "height": int(height) + 20, "deviceScaleFactor": 1, "mobile": False}
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        browser.save_screenshot(SCREENSHOT)
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_a_csv_file_scores_every_row_and_a_bad_one_shows_the_api_s_sentence(
    browser, guarded: ServerProcess, tmp_path: Path
) -> None:
    _sign_in(browser, guarded)
    rows = list(csv.reader(AIRLINES.with_suffix(".input.csv").open()))[:13]
    upload = tmp_path / "flights.csv"
    with upload.open("w", newline="") as out:
        csv.writer(out).writerows(rows)
    _by_id(browser, "csv-input").send_keys(str(upload))
    _wait(browser, lambda d: "12 rows from flights.csv" in _by_id(d, "csv-summary").text)
    _score(browser, shapley="ORIGINAL")
    expected = _api(guarded, {"fields": rows[0], "rows": rows[1:], "requestShapleyValueType": "ORIGINAL"})
    head, shown = _table(browser)
    assert (head, shown) == (expected["fields"], expected["score"])
    assert len(_all(browser, "#charts figure")) == 10  # the first ten rows are charted
    assert "first 10 of 12 rows" in _by_id(browser, "shapley-note").text

    broken = tmp_path / "broken.csv"
    broken.write_text("Origin,Dest\nDEN,ONT\n")
    _by_id(browser, "csv-input").send_keys(str(broken))
    _wait(browser, lambda d: "1 rows from broken.csv" in _by_id(d, "csv-summary").text)
    _by_id(browser, "score-button").click()
    _wait(browser, lambda d: _by_id(d, "score-error").is_displayed())
    message = httpx.post(
        f"{guarded.url}{PREFIX}/model/score",
        json={"fields": ["Origin", "Dest"], "rows": [["DEN", "ONT"]]},
        headers={"Authorization": f"Bearer {PASSPHRASE}"},
    ).json()["detail"]
    assert _by_id(browser, "score-error").text == message


def test_the_root_page_and_a_deployment_page_score_their_own_models(browser, deployments: ServerProcess) -> None:
    """With a deployments file `/` has no single model: the page says the API's sentence; each
    `/<deployment>/` page scores through that deployment's routes."""
    browser.get(f"{deployments.url}/")
    _wait(browser, lambda d: _by_id(d, "load-error").is_displayed() or _by_id(d, "try").is_displayed())
    root = httpx.get(f"{deployments.url}/model/schema")
    if root.status_code != 200:
        assert _by_id(browser, "load-error").text == root.json()["detail"]
    browser.get(f"{deployments.url}/cooler/")
    _wait(browser, lambda d: _by_id(d, "try").is_displayed())
    assert _by_id(browser, "model-name").text.startswith("cooler: ")
    assert _by_id(browser, "no-options").is_displayed()  # a multinomial MOJO: scores only
    _wait(browser, lambda d: "…" not in _by_id(d, "facts").text)
    assert "h2o3_mojo" in _by_id(browser, "facts").text
    _score(browser)
    sample = httpx.get(f"{deployments.url}/cooler/model/sample_request").json()
    expected = httpx.post(f"{deployments.url}/cooler/model/score", json=sample).json()
    assert _table(browser) == (expected["fields"], expected["score"])
    unknown = httpx.get(f"{deployments.url}/no-such-deployment/")
    assert unknown.status_code == 404 and "no-such-deployment" in unknown.json()["detail"]


def test_the_page_points_its_calls_and_files_at_its_prefix(guarded: ServerProcess, deployments: ServerProcess) -> None:
    for server, root in ((guarded, PREFIX), (deployments, "")):
        answer = httpx.get(f"{server.url}{root}/")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
        assert f'data-root="{root}" data-api="{root}/"' in answer.text
        assert f'src="{root}/page-assets/page.js"' in answer.text and f'href="{root}/docs"' in answer.text
        assert (
            httpx.get(f"{server.url}{root}/page-assets/page.js").headers["content-type"].startswith("text/javascript")
        )
    for path in ("/cooler/", "/"):  # nothing of the query reaches the page
        crafted = httpx.get(f"{deployments.url}{path}?prefix=//elsewhere.example&root=//x&api=//y")
        assert "elsewhere" not in crafted.text and "//x" not in crafted.text and "//y" not in crafted.text
    moved = httpx.get(f"{guarded.url}{PREFIX}")
    assert (moved.status_code, moved.headers["location"]) == (308, f"{PREFIX}/")


def test_nothing_is_fetched_from_elsewhere() -> None:
    """Production clusters often have no internet: every URL the files name is the server's own
    (the SVG namespace is a name, never fetched)."""
    for path in FOLDER.iterdir():
        urls = set(re.findall(r"""https?://[^\s"'`)]+""", path.read_text(encoding="utf-8")))
        assert urls <= {"http://www.w3.org/2000/svg"}, path.name


def test_server_text_reaches_the_document_as_text_only() -> None:
    """Names, levels and messages come from models and requests: the script never parses them as HTML."""
    script = (FOLDER / "page.js").read_text(encoding="utf-8")
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "document.write" not in script
