"""``%micropkg`` in a real JupyterLite site, run in headless Chromium like a person would.

The site (:mod:`tests.harness.jupyterlite`: jupyterlite-core and
jupyterlite-pyodide-kernel from PyPI, the Pyodide folder under test, and
piplite wheels for micropkg and the kernel's own needs) is served with the
loopback index from one origin. The notebook does what a user does: ``%pip
install micropkg`` from the site, ``%load_ext micropkg``, then
``%micropkg install`` from the index (its URL built from the page's origin),
an import, ``%micropkg list``, and an install that fails. The test opens
it in JupyterLab, clicks Run > Run All Cells and reads each cell's output
from the page. A MutationObserver records every state the progress output
went through, to check it is one output updated in place.

Like ``test_demo``, the run saves a screenshot and writes
``docs/jupyterlite.png`` only when that file is missing or
``MICROPKG_UPDATE_SCREENSHOT=1`` is set.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from tests.harness import jupyterlite
from tests.harness.index_server import SIMPLE_JSON
from tests.harness.screenshot import check_screenshot

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "jupyterlite.png"
WINDOW = (1200, 900)
NOTEBOOK = "micropkg.ipynb"

# What a user types, one string per cell. The index is the page's own origin:
# the test serves site and index together, and the port changes every run.
CELLS = (
    "%pip install micropkg",
    "%load_ext micropkg\nfrom js import location\nINDEX = location.origin + '/simple/'",
    "%micropkg install --index-url {INDEX} harness-demo",
    "import harness_demo\nprint('harness_demo', harness_demo.__version__)",
    "%micropkg install --index-url {INDEX} no-such-project-here",
    "print('after the failed install')",
    "%micropkg list",
)
INSTALL, IMPORT, FAILED, AFTER, LIST = 2, 3, 4, 5, 6

# The other ways in: ``import micropkg`` registers the magic too; a line IPython
# runs itself (not rewritten) blocks through run_sync; uninstall and freeze.
OTHER_NOTEBOOK = "other-ways.ipynb"
OTHER_CELLS = (
    "%pip install micropkg",
    "import micropkg\nfrom js import location\nINDEX = location.origin + '/simple/'",
    "%micropkg install --index-url {INDEX} harness-dep",
    "get_ipython().run_line_magic('micropkg', f'install --index-url {INDEX} harness-demo==1.0.0')\n"
    "import harness_demo\nprint('harness_demo', harness_demo.__version__)",
    "%micropkg uninstall harness-demo",
    "%micropkg freeze --format pylock",
    "%micropkg instal harness-demo",
)

LOAD_TIMEOUT = 60  # JupyterLab's page and the notebook
RUN_TIMEOUT = 120  # the kernel's boot (Pyodide, IPython from the site) and every cell
RESOLVE_DELAY = 1.5  # the index answers harness-demo's page this late: the bar is on screen meanwhile

# Every distinct (state, text, has a <progress>) a progress output showed, in order.
RECORD_PROGRESS = """
window.micropkgStates = [];
const record = () => {
  for (const element of document.querySelectorAll('.micropkg-progress')) {
    const state = [element.dataset.state, element.innerText.trim(), !!element.querySelector('progress')];
    if (!window.micropkgStates.some(s => JSON.stringify(s) === JSON.stringify(state))) {
      window.micropkgStates.push(state);
    }
  }
};
new MutationObserver(record).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
"""

CELL_OUTPUTS = """
return Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell')).map(cell => ({
  prompt: cell.querySelector('.jp-InputArea-prompt').innerText.trim(),
  outputs: Array.from(cell.querySelectorAll('.jp-OutputArea-output')).map(o => o.innerText.trim()),
  progress: Array.from(cell.querySelectorAll('.micropkg-progress')).map(p => p.dataset.state),
  errors: cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').length,
}));
"""


@pytest.fixture
def driver(browser):
    """The browser, sized for the screenshot."""
    browser.set_window_size(*WINDOW)
    return browser


@pytest.fixture
def notebooks_url(index_server, pyodide_info) -> str:
    """The URL that opens a notebook of the site by its name appended."""
    # One site holds both notebooks: it is built (and cached) once.
    notebooks = {NOTEBOOK: jupyterlite.notebook(CELLS), OTHER_NOTEBOOK: jupyterlite.notebook(OTHER_CELLS)}
    site = jupyterlite.prepare(pyodide_info["version"], notebooks)
    return index_server.mount("lite", site.root) + "lab/index.html?path="


def _wait(driver, what: str, condition, timeout: float):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.25).until(lambda d: condition(d))
    except TimeoutException:
        cells = driver.execute_script(CELL_OUTPUTS)
        pytest.fail(f"{what} within {timeout} s; the cells show {cells!r}")


def _run_all_cells(driver) -> None:
    """Run > Run All Cells, in JupyterLab's menu bar."""
    menu = next(m for m in driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-itemLabel") if m.text == "Run")
    menu.click()
    item = _wait(
        driver, "the Run menu did not open",
        lambda d: next((i for i in d.find_elements(By.CSS_SELECTOR, ".lm-Menu-itemLabel") if i.text == "Run All Cells"), None),
        5,
    )
    item.click()


def _finished(cells) -> bool:
    return all(re.fullmatch(r"\[\d+\]:", cell["prompt"]) for cell in cells)


def _run_notebook(driver, url: str, count: int) -> list[dict]:
    """Open the notebook at ``url``, run all its cells, return each cell's prompt and outputs."""
    driver.get(url)
    _wait(
        driver, "JupyterLab did not show the notebook",
        lambda d: len(d.execute_script(CELL_OUTPUTS)) == count, LOAD_TIMEOUT,
    )
    driver.execute_script(RECORD_PROGRESS)
    _run_all_cells(driver)
    cells = _wait(driver, "the cells did not all run", lambda d: _finished(c := d.execute_script(CELL_OUTPUTS)) and c, RUN_TIMEOUT)
    # Cells ran in order, each after the previous one finished: the prompts count up.
    assert [int(cell["prompt"][1:-2]) for cell in cells] == list(range(1, count + 1)), cells
    return cells


@pytest.mark.pyodide_abi("2026_0")  # jupyterlite-pyodide-kernel 0.8.6 runs on Pyodide 314 (Python 3.14) only
def test_magic_installs_in_a_jupyterlite_notebook(driver, notebooks_url, index_server, tmp_path):
    _, page = index_server.project_page("harness-demo", as_json=True)
    index_server.inject("/simple/harness-demo/", body=page, content_type=SIMPLE_JSON, delay=RESOLVE_DELAY)

    started = time.monotonic()
    cells = _run_notebook(driver, notebooks_url + NOTEBOOK, len(CELLS))
    took = time.monotonic() - started

    outputs = [cell["outputs"] for cell in cells]
    assert outputs[0] == [] and outputs[1] == [], outputs  # %pip install micropkg, %load_ext: silent

    # The install: one output, updated in place, ending as the summary line.
    assert cells[INSTALL]["progress"] == ["done"], cells[INSTALL]
    (summary,) = outputs[INSTALL]
    assert re.fullmatch(r"Installed 2 packages in \d+\.\d s: harness-demo 2\.0\.0, harness-dep 1\.0\.0", summary), summary
    # ...which the next cell could already import.
    assert outputs[IMPORT] == ["harness_demo 2.0.0"]

    states = driver.execute_script("return window.micropkgStates")
    # While the index was slow, the bar showed resolution under way (HTML <progress> and a text line).
    assert ["running", "Resolving harness-demo...", True] in states, states
    done = [s for s in states if s[0] == "done"]
    assert done == [["done", summary, False]], states

    (table,) = outputs[LIST]
    rows = {tuple(line.split()) for line in table.splitlines()}
    assert ("Name", "Version", "Source") in rows
    assert {("harness-demo", "2.0.0", "micropkg"), ("harness-dep", "1.0.0", "micropkg")} <= rows, table
    assert ("micropkg", "0.1.0", "micropip") in rows, table  # %pip (piplite) put it there

    # The failing install: micropkg's message, one line, no traceback; the notebook went on.
    assert cells[FAILED]["progress"] == ["failed"], cells[FAILED]
    (error,) = outputs[FAILED]
    assert error.startswith(
        f"ProjectNotFound: Project 'no-such-project-here' was not found on {index_server.simple_url}"
    ), error
    assert error.endswith("Check the spelling, or pass index_urls= naming an index that has it."), error
    assert "\n" not in error and "Traceback" not in error
    assert outputs[AFTER] == ["after the failed install"]
    assert not any("Traceback" in text for texts in outputs for text in texts), outputs

    # Everything came from loopback: the wheels from the index, once each.
    for wheel in ("harness_demo-2.0.0-py3-none-any.whl", "harness_dep-1.0.0-py3-none-any.whl"):
        assert index_server.log.count("file", path=f"/files/{wheel}") == 1, wheel
    assert index_server.log.count(path="/lite/pypi/micropkg-0.1.0-py3-none-any.whl") == 1
    print(f"JupyterLite: page, kernel boot and {len(CELLS)} cells in {took:.1f} s")

    # Fold the file browser away: the notebook gets the screenshot's width.
    driver.find_element(By.CSS_SELECTOR, '.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="filebrowser"]').click()
    _wait(driver, "the file browser did not fold", lambda d: not d.find_element(By.ID, "filebrowser").is_displayed(), 5)
    check_screenshot(driver.get_screenshot_as_png(), SCREENSHOT, tmp_path, minimum=(1000, 700))


@pytest.mark.pyodide_abi("2026_0")
def test_import_registers_the_magic_and_other_commands(driver, notebooks_url, index_server):
    cells = _run_notebook(driver, notebooks_url + OTHER_NOTEBOOK, len(OTHER_CELLS))
    outputs = [cell["outputs"] for cell in cells]

    assert outputs[1] == []  # import micropkg: silent, and %micropkg works from the next cell
    assert re.fullmatch(r"Installed 1 package in \d+\.\d s: harness-dep 1\.0\.0", outputs[2][0]), outputs[2]
    # Called by IPython itself, the magic could not be rewritten into an await:
    # it blocked on the install (run_sync) and the import after it in the cell worked.
    assert len(outputs[3]) == 2, outputs[3]
    assert re.fullmatch(r"Installed 1 package in \d+\.\d s: harness-demo 1\.0\.0", outputs[3][0]), outputs[3]
    assert outputs[3][1] == "harness_demo 1.0.0"
    assert outputs[4] == ["Uninstalled harness-demo"]
    (lock,) = outputs[5]
    assert 'created-by = "micropkg"' in lock and 'name = "harness-dep"' in lock and 'name = "harness-demo"' not in lock, lock
    assert f'url = "{index_server.url}files/harness_dep-1.0.0-py3-none-any.whl"' in lock, lock
    # A typo: IPython's one-line UsageError with the usage, no traceback.
    (usage,) = outputs[6]
    assert usage.startswith("UsageError: %micropkg: unknown command 'instal'; use install, uninstall, list, freeze or explain"), usage
    assert "%micropkg install REQ..." in usage and "Traceback" not in usage
    assert cells[6]["errors"] == 1  # shown as stderr
