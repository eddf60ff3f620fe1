"""upload-pdf: a 50-page lesson PDF uploaded through the console API until it is searchable.

A 50-page PDF of lesson-like prose (English and Korean pages, code samples, a distinct fact
on the last page) is generated with reportlab. ``kdt-tutor serve`` runs with the shipped
settings (hybrid embedding) on a fresh data dir, an instructor token is made with the CLI,
and the file is sent to ``POST /api/kb/uploads``; the job is polled every 0.25 s (every
sample kept: phase, passages done of total) and, once done, ``GET /api/search`` must return
the upload for a question only its last page answers. Timed: from the start of the upload
to that search result. Target: <= 60 s, with progress visible throughout (the longest
stretch without a visible change is reported).

Baseline: ``ingest_path`` of the same file in-process with the models already loaded (the
bare pipeline, no HTTP, no job, no progress reporting).
"""

from __future__ import annotations

import io
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import format_table, free_port, log, row
from bench.serve_memory import _env, _kdt_tutor, stop, wait_healthy

NAME = "upload-pdf"
PAGES = 50
TARGET_S = 60.0
COURSE = "bench-course"
LAST_PAGE_FACT = (
    "The heron checkpoint rule says a training loop saves its weights every seventh epoch."
)
QUESTION = "How often does the heron checkpoint rule save the weights?"

TOPICS_EN = [
    ("Lists", "A list keeps items in order and can grow; append adds one item at the end.",
     "numbers = [3, 1, 2]\nnumbers.append(4)\nprint(sorted(numbers))"),
    ("Dictionaries", "A dictionary maps keys to values; items() loops over both together.",
     "scores = {'kim': 90, 'lee': 85}\nfor name, score in scores.items():\n    print(name, score)"),
    ("Functions", "A function names a block of code; parameters receive the arguments.",
     "def area(width, height):\n    return width * height"),
    ("Loops", "A for loop repeats its body once for each item of an iterable.",
     "for i in range(3):\n    print(i)"),
    ("Exceptions", "try and except handle an error where it can be handled, and no further.",
     "try:\n    value = int(text)\nexcept ValueError:\n    value = 0"),
    ("Classes", "A class bundles data with the methods that work on it.",
     "class Point:\n    def __init__(self, x, y):\n        self.x, self.y = x, y"),
    ("Files", "with open(...) closes the file even when the block raises an error.",
     "with open('data.txt', encoding='utf-8') as f:\n    lines = f.readlines()"),
    ("Comprehensions", "A comprehension builds a list from an iterable in one expression.",
     "squares = [n * n for n in range(10) if n % 2 == 0]"),
]  # fmt: skip
TOPICS_KO = [
    ("리스트", "리스트는 순서가 있는 값의 모음이며 append로 끝에 값을 추가합니다."),
    ("딕셔너리", "딕셔너리는 키와 값을 짝지어 저장하며 items()로 함께 반복합니다."),
    ("함수", "함수는 코드 블록에 이름을 붙인 것이며 매개변수로 인자를 받습니다."),
    ("반복문", "for 반복문은 반복 가능한 객체의 각 항목마다 본문을 한 번씩 실행합니다."),
    ("예외 처리", "try와 except는 오류를 처리할 수 있는 곳에서만 처리합니다."),
    ("클래스", "클래스는 데이터와 그 데이터를 다루는 메서드를 함께 묶습니다."),
]
FILLER_EN = (
    "Read the example slowly and predict its output before running it. Then change one "
    "value and predict again: the habit of predicting first is what turns reading code "
    "into understanding it. When the output surprises you, print the intermediate values "
    "and find the first line whose result you did not expect."
)
MISTAKES_EN = (
    "A common mistake is to change a value while looping over it, or to reuse a name that "
    "already holds something else. Both make the program do what was written rather than "
    "what was meant, and both are easiest to find by printing the value at each step. Keep "
    "each function short enough that its whole behaviour fits in your head, and name it "
    "for what it returns."
)
SUMMARY_EN = (
    "Summary: say in one sentence what the code on this page does, then write a test that "
    "would fail if it did something else. If the sentence is hard to write, the code is "
    "doing too much; split it and try again. The exercises at the end of the module come "
    "back to each of these ideas with data from the previous projects."
)
FURTHER_EN = (
    "Going further: real data is messier than the examples. Files arrive with a header line "
    "you did not expect, numbers come as text with commas, and some rows are simply empty. "
    "Before you write the loop that does the work, look at the first ten rows and the last "
    "ten, count the rows, and decide what the program should do with a row it cannot read: "
    "skip it and count it, or stop with a message that names the line. Both are fine; "
    "silently guessing is not. Write that decision down next to the code, because the next "
    "person to read it will want to know, and that person is usually you, three weeks later."
)
FURTHER_KO = (
    "더 나아가기: 실제 데이터는 예제보다 지저분합니다. 파일에는 예상하지 못한 머리글 줄이 "
    "있고, 숫자는 쉼표가 들어간 문자열로 오며, 어떤 행은 그냥 비어 있습니다. 본격적인 "
    "반복문을 쓰기 전에 처음 열 행과 마지막 열 행을 살펴보고, 행 수를 세고, 읽을 수 없는 "
    "행을 어떻게 처리할지 정하세요. 건너뛰고 개수를 세거나, 그 줄을 알려 주는 메시지와 "
    "함께 멈추는 것 모두 괜찮지만, 조용히 추측하는 것은 안 됩니다. 그 결정을 코드 옆에 "
    "적어 두세요. 다음에 코드를 읽을 사람은 대개 3주 뒤의 나 자신입니다."
)
MISTAKES_KO = (
    "자주 하는 실수는 반복하는 도중에 그 값을 바꾸거나, 이미 다른 값을 가진 이름을 다시 "
    "쓰는 것입니다. 두 경우 모두 프로그램은 의도한 대로가 아니라 쓴 대로 동작하며, 각 "
    "단계의 값을 출력해 보면 가장 쉽게 찾을 수 있습니다. 함수는 전체 동작이 머릿속에 "
    "들어올 만큼 짧게 유지하고, 반환하는 값을 기준으로 이름을 지으세요."
)
SUMMARY_KO = (
    "정리: 이 페이지의 코드가 하는 일을 한 문장으로 말해 보고, 다른 일을 하면 실패하는 "
    "테스트를 작성하세요. 문장으로 쓰기 어렵다면 코드가 너무 많은 일을 하고 있는 것이니 "
    "나누어 다시 시도하세요. 모듈 끝의 연습 문제에서 이전 프로젝트의 데이터로 이 내용을 "
    "다시 다룹니다."
)
FILLER_KO = (
    "예제를 천천히 읽고 실행하기 전에 출력을 먼저 예상해 보세요. 값을 하나 바꾸고 다시 "
    "예상해 보는 습관이 코드를 읽는 것을 이해로 바꿉니다. 결과가 예상과 다르면 중간 값을 "
    "출력해 보고 처음으로 예상과 달라진 줄을 찾으세요."
)


def make_pdf(pages: int = PAGES) -> bytes:
    """A lesson PDF: every fourth page Korean, the rest English, each with a code sample."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HYSMyeongJo-Medium"))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.setTitle("Python for data work: course notes")

    def lines_of(text: str, width: int) -> list[str]:
        words, out, line = text.split(), [], ""
        for word in words:
            if len(line) + len(word) + 1 > width:
                out.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        return [*out, line] if line else out

    for number in range(1, pages + 1):
        y = 800
        korean = number % 4 == 0
        if korean:
            title, fact = TOPICS_KO[number % len(TOPICS_KO)]
            heading = f"{number}. {title} (심화 {number})"
            paragraphs = [
                fact,
                FILLER_KO,
                MISTAKES_KO,
                f"{title} 연습 {number}: {fact}",
                FURTHER_KO,
                SUMMARY_KO,
            ]
            font, size, width, code = "HYSMyeongJo-Medium", 11, 48, None
        else:
            title, fact, code = TOPICS_EN[number % len(TOPICS_EN)]
            heading = f"{number}. {title}, part {number}"
            paragraphs = [
                fact,
                FILLER_EN,
                MISTAKES_EN,
                f"Exercise {number}: {fact}",
                FURTHER_EN,
                SUMMARY_EN,
            ]
            font, size, width = "Helvetica", 11, 92
        if number == pages:
            paragraphs.append(LAST_PAGE_FACT)
        pdf.setFont(font, 16)
        pdf.drawString(56, y, heading)
        y -= 30
        pdf.setFont(font, size)
        for paragraph in paragraphs:
            for line in lines_of(paragraph, width):
                pdf.drawString(56, y, line)
                y -= 15
            y -= 9
        if code:
            pdf.setFont("Courier", 10)
            for line in code.split("\n"):
                pdf.drawString(70, y, line)
                y -= 13
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _upload(base: str, token: str, pdf: bytes) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    samples: list[tuple[float, str, int, int]] = []
    started = time.perf_counter()
    with httpx.Client(timeout=120) as client:
        response = client.post(
            f"{base}/api/kb/uploads",
            params={"course": COURSE},
            files=[("files", ("course-notes.pdf", pdf, "application/pdf"))],
            headers=headers,
        )
        response.raise_for_status()
        result = response.json()["results"][0]
        sent = time.perf_counter() - started
        samples.append((sent, "uploaded", 0, 0))
        if result["status"] != "queued":
            raise RuntimeError(f"upload not queued: {result}")
        while True:
            job = client.get(f"{base}/api/kb/jobs/{result['job_id']}", headers=headers).json()
            samples.append((time.perf_counter() - started, job["phase"], job["done"], job["total"]))
            if job["status"] == "failed":
                raise RuntimeError(f"ingest failed: {job['error']}")
            if job["status"] == "done":
                break
            time.sleep(0.25)
        done_s = time.perf_counter() - started
        hits = client.get(
            f"{base}/api/search", params={"q": QUESTION, "course": COURSE, "k": 3}
        ).json()["results"]
        searchable_s = time.perf_counter() - started
    found = [h for h in hits if h["doc_id"] == result["doc_id"]]
    return {
        "sent_s": sent,
        "done_s": done_s,
        "searchable_s": searchable_s,
        "found": bool(found) and "seventh epoch" in found[0]["text"],
        "report": job["report"],
        "samples": samples,
    }


def _longest_silence(samples: list[tuple[float, str, int, int]]) -> float:
    """The longest time between two visible changes (phase or passages done)."""
    longest, last_t, last = 0.0, 0.0, None
    for t, phase, done, total in samples:
        state = (phase, done, total)
        if state != last:
            longest, last_t, last = max(longest, t - last_t), t, state
    return max(longest, samples[-1][0] - last_t)


def _baseline(pdf_path: Path, data_dir: Path) -> tuple[float, int]:
    from knowledge.ingest import ingest_path
    from knowledge.knowledge_base import build_knowledge_base
    from tutor.settings import Settings

    config = Settings(data_dir=data_dir).knowledge_config()
    kb = build_knowledge_base(config)
    kb.embed_query("warm up")
    kb.tokenizer.tokenize("warm up 준비 운동")
    started = time.perf_counter()
    report = ingest_path(kb, pdf_path, course=COURSE, max_bytes=config.max_file_bytes)
    seconds = time.perf_counter() - started
    return seconds, kb.registry.counts()[1] if not report.failed else 0


def run(pages: int = PAGES) -> dict:
    pdf = make_pdf(pages)
    with tempfile.TemporaryDirectory(prefix="kdt-bench-upload-") as tmp_name:
        tmp = Path(tmp_name)
        env = _env(tmp / "data")
        cli = _kdt_tutor()
        subprocess.run([cli, "user", "add", "teach", "--role", "instructor", "--course", COURSE,
                        "--password", "bench-password-1"],
                       env=env, cwd=tmp, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        token = subprocess.run([cli, "user", "token", "teach"], env=env, cwd=tmp, check=True,
                               capture_output=True, text=True).stdout.split()[-1]  # fmt: skip
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log_path = tmp / "server.log"
        with log_path.open("wb") as out:
            proc = subprocess.Popen([cli, "serve", "--port", str(port)], env=env, cwd=tmp,
                                    stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
            try:
                wait_healthy(proc, f"{base}/api/health", log_path)
                log(f"uploading a {pages}-page PDF ({len(pdf) / 1024:.0f} KB)")
                ours = _upload(base, token, pdf)
            finally:
                stop(proc)
        log("baseline: ingest_path in-process, models loaded")
        pdf_path = tmp / "course-notes.pdf"
        pdf_path.write_bytes(pdf)
        base_s, base_chunks = _baseline(pdf_path, tmp / "baseline")

    samples = ours["samples"]
    silence = _longest_silence(samples)
    embedding = [s for s in samples if s[1] == "embedding" and s[3]]
    rows = [
        row("upload start -> searchable", round(ours["searchable_s"], 2), round(base_s, 2),
            unit="s", target=f"<= {TARGET_S:g}"),
        row("upload sent (HTTP)", round(ours["sent_s"], 2), None, unit="s"),
        row("job done", round(ours["done_s"], 2), None, unit="s"),
        row("longest time without visible progress", round(silence, 2), None, unit="s"),
        row("last page found by search", ours["found"], None, target="True"),
    ]  # fmt: skip
    return {
        "name": NAME,
        "title": f"upload a {pages}-page PDF through /api/kb/uploads until searchable",
        "baseline_name": "ingest_path in-process",
        "baseline_desc": "knowledge.ingest.ingest_path of the same file, models already loaded",
        "rows": rows,
        "notes": [
            f"{pages} pages, {len(pdf) / 1024:.0f} KB, {ours['report']['chunks']} passages "
            f"(baseline: {base_chunks}); embedding: hybrid (shipped default)",
            f"{len(samples)} progress samples; {len(embedding)} during embedding, passages "
            f"done going {', '.join(str(s[2]) for s in embedding[:12])}"
            f"{'…' if len(embedding) > 12 else ''} of {embedding[-1][3] if embedding else '?'}",
        ],
        "details": {
            "pages": pages,
            "pdf_bytes": len(pdf),
            "searchable_s": round(ours["searchable_s"], 3),
            "done_s": round(ours["done_s"], 3),
            "sent_s": round(ours["sent_s"], 3),
            "longest_silence_s": round(silence, 3),
            "baseline_s": round(base_s, 3),
            "report": ours["report"],
            "samples": [[round(t, 3), p, d, n] for t, p, d, n in samples],
        },
    }


if __name__ == "__main__":
    print(format_table(run()))
