"""``siamtrack serve`` in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``, which
scripts/setup.sh installs; missing, the test fails) driven by selenium loads the page served by the installed
console script, draws the target's box on the demo clip with the mouse, runs DCFNet for 30 frames, sees the boxes
arrive, downloads ``boxes.txt`` and finds it equal to what ``siamtrack track`` writes for the same video, box,
tracker and frames; then the reports page shows a report's tables and plots and plays a sequence. The screenshots
stay in tests/artifacts/ (ignored by git), their paths printed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO_ROOT
from serve_support import tiny_results
from siamtrack.demo import DEMO_GROUND_TRUTH, DEMO_VIDEO

SCRIPT = Path(sys.executable).with_name("siamtrack")  # the installed console script of this venv
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
FRAMES = 30
TRACKER = "dcfnet"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``siamtrack serve --port 0`` (the console script) on a results folder and its tiny dataset; its URL."""
    root = tmp_path_factory.mktemp("browser")
    made = tiny_results(root)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # as the `siamtrack track` it is compared with
    process = subprocess.Popen(
        [
            str(SCRIPT),
            "serve",
            "--port",
            "0",
            "--results",
            str(made["results"]),
            "--dataset",
            "folder",
            "--root",
            str(made["data"]),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("siamtrack serve: http://127.0.0.1:"), (line, process.stderr.read())
        yield {"url": line.split()[2], "root": root}
    finally:
        process.terminate()  # SIGTERM: uvicorn stops the run and removes its work folder
        process.wait(20)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} missing: install Debian's chromium and chromium-driver "
            "(bash scripts/setup.sh does, as root)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1100",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


def test_draw_a_box_track_and_download_the_boxes_of_siamtrack_track(server, browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(server["url"])
    wait = WebDriverWait(browser, 60)
    find = lambda element_id: browser.find_element(By.ID, element_id)  # noqa: E731
    wait.until(lambda _: "320x240" in find("size").text)  # the demo clip's first frame is on the canvas
    wait.until(
        lambda _: (
            browser.execute_script(
                "return document.getElementById('first').getContext('2d').getImageData(5, 5, 1, 1).data[3]"
            )
            == 255
        )
    )
    truth = np.loadtxt(DEMO_GROUND_TRUTH, delimiter=",")[0]
    canvas = find("first")
    # selenium's offsets are from the element's centre: the canvas' 1-pixel border and a 320x240 frame
    centre_x, centre_y = canvas.size["width"] / 2 - 1, canvas.size["height"] / 2 - 1
    (
        ActionChains(browser)
        .move_to_element_with_offset(canvas, int(truth[0] - centre_x), int(truth[1] - centre_y))
        .click_and_hold()
        .move_by_offset(20, 15)
        .move_by_offset(int(truth[2]) - 20, int(truth[3]) - 15)
        .release()
        .perform()
    )
    drawn = find("box").get_attribute("value")
    box = np.array([float(v) for v in drawn.split(",")])
    assert np.all(np.abs(box - truth) <= 3), (drawn, truth)  # the box drawn is the target's
    assert (
        Select(find("tracker0")).first_selected_option.get_attribute("value") == __import__("siamtrack").DEFAULT_TRACKER
    )  # the default is preselected
    # what `siamtrack track` writes for the same video, box, tracker and frames (run meanwhile, compared below)
    command = subprocess.Popen(
        [
            str(SCRIPT),
            "track",
            "--video",
            str(DEMO_VIDEO),
            "--box",
            drawn,
            "--tracker",
            TRACKER,
            "--max-frames",
            str(FRAMES),
            "--out",
            str(tmp_path / "cli"),
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    Select(find("tracker0")).select_by_value(TRACKER)
    find("max-frames").send_keys(str(FRAMES))
    find("start").click()
    seen, deadline = set(), time.monotonic() + 120
    while browser.execute_script("return document.body.dataset.run") != "ended":
        assert time.monotonic() < deadline, "the run did not end"
        seen.add(int(find("frames0").text or 0))
        time.sleep(0.05)
    assert find("frames0").text == str(FRAMES) and find("state0").text.startswith("finished"), find("state0").text
    assert any(0 < count < FRAMES for count in seen), seen  # boxes arrived while the tracker ran
    assert browser.execute_script("return document.getElementById('view0').width") == 320
    assert float(find("fps0").text) > 0
    screenshot(browser, "serve-tracking.png")
    find("boxes0").click()
    downloaded = browser.downloads / "boxes.txt"
    deadline = time.monotonic() + 30
    while not downloaded.is_file() or list(browser.downloads.glob("*.crdownload")):
        assert time.monotonic() < deadline, f"no boxes.txt downloaded: {list(browser.downloads.iterdir())}"
        time.sleep(0.1)
    _, errors = command.communicate(timeout=300)
    assert command.returncode == 0, errors
    expected = (tmp_path / "cli" / "boxes.txt").read_text()
    assert len(expected.splitlines()) == FRAMES
    assert downloaded.read_text() == expected


def test_reports_page_shows_tables_plots_and_plays_a_sequence(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server["url"] + "reports")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "img.plot")) >= 3)
    wait.until(
        lambda b: all(
            b.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)
            for img in b.find_elements(By.CSS_SELECTOR, "img.plot")
        )
    )
    tables = browser.find_element(By.ID, "tables").text
    assert "ope: auc per sequence" in tables and "clip" in tables and "alpha" in tables and "beta" in tables
    wait.until(lambda b: b.execute_script("return document.getElementById('view').width") == 128)
    legend = browser.find_element(By.ID, "legend").text
    assert "ground truth" in legend and "alpha" in legend and "beta" in legend
    browser.find_element(By.ID, "play").click()
    wait.until(lambda b: b.find_element(By.ID, "index").text == "7")  # played to the last frame
    browser.execute_script("document.getElementById('view').scrollIntoView()")
    screenshot(browser, "serve-reports.png")
