"""The knowledge base console in real Chromium against a real server: an instructor drops a
Markdown file and uploads a PDF, watches their progress and ingest reports, sees them indexed
and reads their chunks; then a trainee asks in /chat what only the new files answer and gets
answers citing them."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect
from reportlab.pdfgen import canvas

from tests.browser.conftest import ARTIFACTS, add_user, ask_in_chat, log_in, serving

pytestmark = pytest.mark.browser

COURSE_ID = "mini-kb"
TEACHER = ("teach1", "teacher pass 123")
TRAINEE = ("trainee1", "correct horse battery")

LESSON = "# Variables\n\nA variable names a value. Assign with `=`.\n"
CAPYBARA = (
    "---\ntitle: Capybara queues\nlevel: 2\n---\n# Capybara queues\n\n"
    "A capybara queue lets every waiting task sit next to any other task: tasks are served "
    "in the order they arrived, and nobody ever jumps ahead.\n"
)
PANGOLIN_PAGES = [
    ["Pangolin pagination", "", "Pangolin pagination rolls each page of results into a ball.",
     "A rolled page is only unrolled when the reader asks for it."],
    ["Why pangolin pagination?", "", "Rolling pages keeps memory small: only the page being",
     "read is unrolled, the others stay rolled up as compact scales."],
]  # fmt: skip


def pangolin_pdf() -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.setTitle("Pangolin pagination")
    for lines in PANGOLIN_PAGES:
        y = 780
        for line in lines:
            pdf.drawString(60, y, line)
            y -= 18
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("kbconsole")
    course = root / COURSE_ID
    (course / "lessons").mkdir(parents=True)
    (course / "lessons" / "variables.md").write_text(LESSON, encoding="utf-8")
    data_dir = root / "var"
    for (name, password), role in ((TEACHER, "instructor"), (TRAINEE, "trainee")):
        add_user(data_dir, name, password=password, course=COURSE_ID, role=role)
    pdf = root / "pangolin.pdf"
    pdf.write_bytes(pangolin_pdf())
    with serving(data_dir, course) as url:
        yield url, pdf


# Records every state each upload row passes through, to prove progress was shown.
WATCH_STATES = """() => {
  window.kbStates = {};
  new MutationObserver((records) => {
    for (const r of records) {
      const row = r.target.closest && r.target.closest('[data-testid=kb-upload]');
      if (!row) continue;
      const seen = (window.kbStates[row.dataset.name] ||= []);
      const bar = row.querySelector('[role=progressbar]').getAttribute('aria-valuenow');
      const entry = (row.dataset.state || '') + ':' + bar;
      if (seen[seen.length - 1] !== entry) seen.push(entry);
    }
  }).observe(document.getElementById('kb-uploads'),
             {subtree: true, attributes: true, childList: true});
}"""

DROP_MARKDOWN = """(text) => {
  const data = new DataTransfer();
  data.items.add(new File([text], 'capybara.md', {type: 'text/markdown'}));
  const zone = document.getElementById('kb-drop');
  zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: data, bubbles: true}));
  zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true}));
}"""


def test_instructor_uploads_and_a_trainee_gets_cited_answers(server, browser) -> None:
    url, pdf = server
    ARTIFACTS.mkdir(exist_ok=True)
    staff = browser.new_context(locale="en-US", viewport={"width": 1200, "height": 1000})
    page = staff.new_page()
    log_in(page, url, TEACHER, "/console/kb?lang=en")
    page.wait_for_selector("[data-testid=kb-doc-row]")
    assert page.locator("[data-testid=kb-doc-row]").count() == 1  # the course folder's lesson
    page.evaluate(WATCH_STATES)

    # 1. drag and drop a Markdown file, 2. choose a PDF with the file picker
    page.evaluate(DROP_MARKDOWN, CAPYBARA)
    page.set_input_files("[data-testid=kb-files]", str(pdf))
    for name in ("capybara.md", "pangolin.pdf"):
        row = page.locator(f"[data-testid=kb-upload][data-name='{name}']")
        row.wait_for()
        page.wait_for_function(
            "n => ['done', 'failed', 'rejected'].includes("
            "document.querySelector(`[data-testid=kb-upload][data-name='${n}']`).dataset.state)",
            arg=name,
            timeout=120_000,
        )
        assert row.get_attribute("data-state") == "done", row.inner_text()
        status = row.locator("[data-testid=kb-upload-status]").inner_text()
        assert "Indexed:" in status and "passages" in status
    states = page.evaluate("() => window.kbStates")
    for name in ("capybara.md", "pangolin.pdf"):
        seen = states[name]
        assert seen[-1] == "done:100", seen
        assert any(s.split(":")[0] in ("uploading", "indexing") for s in seen[:-1]), seen
    page.wait_for_timeout(800)  # let the bars' width transition finish for the screenshot
    page.screenshot(path=str(ARTIFACTS / "console-kb-uploaded.png"), full_page=True)

    # Both are listed as indexed documents of the course.
    rows = page.locator("[data-testid=kb-doc-row]")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=kb-doc-row]').length == 3"
    )
    ids = {rows.nth(i).get_attribute("data-doc-id") for i in range(rows.count())}
    assert ids == {
        f"{COURSE_ID}/lessons/variables.md",
        f"{COURSE_ID}/uploads/capybara.md",
        f"{COURSE_ID}/uploads/pangolin.pdf",
    }
    # The PDF's chunks, as the tutor sees them
    pdf_row = page.locator(
        f"[data-testid=kb-doc-row][data-doc-id='{COURSE_ID}/uploads/pangolin.pdf']"
    )
    pdf_row.locator("[data-testid=kb-doc-link]").click()
    page.locator("[data-testid=kb-doc]").wait_for(state="visible")
    chunks = page.locator("[data-testid=kb-chunk]")
    chunks.first.wait_for()
    text = " ".join(chunks.nth(i).inner_text() for i in range(chunks.count()))
    assert "rolls each page of results into a ball" in text and "compact scales" in text
    assert page.locator("[data-testid=kb-doc-title]").inner_text() == "Pangolin pagination"
    # The change log names the instructor
    audit = page.locator("[data-testid=kb-audit-row][data-action=upload]")
    expect(audit).to_have_count(2)  # the log reloads beside the list, maybe a moment later
    assert "teach1" in audit.first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "console-kb-document.png"), full_page=True)

    # Edit the metadata: saved and re-indexed, the list shows the new level
    page.select_option("[data-testid=kb-meta-level]", "3")
    page.fill("[data-testid=kb-meta-skills]", "pagination, memory")
    page.click("[data-testid=kb-save]")
    page.locator("[data-testid=kb-doc-ok]").wait_for(state="visible")
    pdf_row.locator("td:nth-child(3)", has_text="Lv3").wait_for()
    # Someone else edits the document meanwhile: this page's save is refused, not applied
    page.evaluate(
        """async (id) => {
          const path = '/api/kb/documents/' + id;
          const doc = await (await KdtUi.api(path)).json();
          await KdtUi.api(path, {method: 'PATCH', json: {version: doc.version, level: 4}});
        }""",
        f"{COURSE_ID}/uploads/pangolin.pdf",
    )
    page.select_option("[data-testid=kb-meta-level]", "1")
    page.click("[data-testid=kb-save]")
    conflict = page.locator("[data-testid=kb-doc-error]")
    conflict.wait_for(state="visible")
    assert "changed this document meanwhile" in conflict.inner_text()
    assert page.locator("[data-testid=kb-reload]").is_visible()
    page.screenshot(path=str(ARTIFACTS / "console-kb-conflict.png"), full_page=True)
    page.click("[data-testid=kb-reload]")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=kb-meta-level]').value === '4'"
    )
    staff.close()

    # A trainee never sees the page ...
    learner = browser.new_context(locale="ko-KR", viewport={"width": 1200, "height": 900})
    page = learner.new_page()
    log_in(page, url, TRAINEE, "/chat?lang=en")
    denied = page.goto(f"{url}/console/kb")
    assert denied.status == 403 and page.locator("#kb-app").count() == 0
    # ... and the tutor answers from the new files, citing them.
    page.goto(f"{url}/chat?lang=en")
    answer = ask_in_chat(page, "How does pangolin pagination keep memory small?")
    assert "rolled" in answer.locator("[data-testid=answer-text]").inner_text()
    chips = answer.locator("[data-testid=citation-chip]")
    assert chips.count() >= 1
    chips.first.click()
    panel = page.locator("[data-testid=citation-panel]")
    panel.wait_for(state="visible")
    assert "uploads/pangolin.pdf" in panel.inner_text()
    answer = ask_in_chat(page, "In a capybara queue, in what order are tasks served?")
    assert "order they arrived" in answer.locator("[data-testid=answer-text]").inner_text()
    sources = answer.locator("[data-testid=source-item]")
    assert any("Capybara queues" in sources.nth(i).inner_text() for i in range(sources.count()))
    page.screenshot(path=str(ARTIFACTS / "console-kb-trainee-answer.png"), full_page=True)
    learner.close()
