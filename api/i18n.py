"""The web UI's two languages. Pick order: ``?lang=``, the ``kdt_lang`` cookie, Accept-Language."""

from __future__ import annotations

from fastapi import Request

LANGS = ("ko", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "app_name": {"en": "KDT Tutor", "ko": "KDT 튜터"},
    "tagline": {
        "en": "Answers from your course material, at your level.",
        "ko": "우리 과정 자료에서 찾은 답을, 내 수준에 맞게.",
    },
    "nav_search": {"en": "Search", "ko": "검색"},
    "nav_health": {"en": "Status", "ko": "상태"},
    "search_placeholder": {
        "en": "Ask about the course, e.g. How do I loop over a dictionary?",
        "ko": "과정 내용을 물어보세요. 예: 딕셔너리를 반복하려면?",
    },
    "search_button": {"en": "Search", "ko": "검색"},
    "all_courses": {"en": "All courses", "ko": "모든 과정"},
    "any_level": {"en": "Any level", "ko": "모든 수준"},
    "any_lang": {"en": "Any language", "ko": "모든 언어"},
    "results_for": {"en": "Results for", "ko": "검색 결과:"},
    "no_results": {
        "en": "Nothing in the course material matches this question.",
        "ko": "과정 자료에서 이 질문과 맞는 내용을 찾지 못했습니다.",
    },
    "lines": {"en": "lines", "ko": "줄"},
    "score": {"en": "score", "ko": "점수"},
    "status_title": {"en": "Service status", "ko": "서비스 상태"},
    "status_ok": {"en": "All systems running", "ko": "정상 작동 중"},
    "documents": {"en": "Documents", "ko": "문서"},
    "chunks": {"en": "Passages", "ko": "구절"},
    "courses": {"en": "Courses", "ko": "과정"},
    "empty_kb": {
        "en": "The knowledge base is empty. Load a course with "
        "`kdt-tutor ingest courses/python-basics`.",
        "ko": "지식 베이스가 비어 있습니다. "
        "`kdt-tutor ingest courses/python-basics`로 과정을 불러오세요.",
    },
    "error_title": {"en": "Something went wrong", "ko": "문제가 발생했습니다"},
    "back_home": {"en": "Back to search", "ko": "검색으로 돌아가기"},
    "switch_lang": {"en": "한국어", "ko": "English"},
    # accounts
    "nav_login": {"en": "Log in", "ko": "로그인"},
    "nav_logout": {"en": "Log out", "ko": "로그아웃"},
    "login_title": {"en": "Log in to KDT Tutor", "ko": "KDT 튜터 로그인"},
    "login_intro": {
        "en": "Use the account your instructor gave you.",
        "ko": "강사에게 받은 계정으로 로그인하세요.",
    },
    "username": {"en": "Username", "ko": "아이디"},
    "password": {"en": "Password", "ko": "비밀번호"},
    "login_button": {"en": "Log in", "ko": "로그인"},
    "login_failed": {
        "en": "Wrong username or password. Please try again.",
        "ko": "아이디 또는 비밀번호가 올바르지 않습니다. 다시 시도해 주세요.",
    },
    "login_disabled": {
        "en": "This account is disabled. Please ask your instructor.",
        "ko": "사용이 중지된 계정입니다. 강사에게 문의하세요.",
    },
    "login_throttled": {
        "en": "Too many failed logins. Please wait 15 minutes and try again.",
        "ko": "로그인 실패가 너무 많습니다. 15분 후에 다시 시도해 주세요.",
    },
    "login_expired": {
        "en": "The login form expired. Please try again.",
        "ko": "로그인 양식이 만료되었습니다. 다시 시도해 주세요.",
    },
    "logged_in_as": {"en": "Logged in as", "ko": "로그인:"},
    "role_trainee": {"en": "Trainee", "ko": "훈련생"},
    "role_instructor": {"en": "Instructor", "ko": "강사"},
    "role_admin": {"en": "Admin", "ko": "관리자"},
    # chat
    "nav_chat": {"en": "Chat", "ko": "채팅"},
    "chat_title": {"en": "Ask the tutor", "ko": "튜터에게 질문하기"},
    "chat_history": {"en": "Conversations", "ko": "대화 목록"},
    "chat_new": {"en": "New conversation", "ko": "새 대화"},
    "chat_no_history": {"en": "No conversations yet.", "ko": "아직 대화가 없습니다."},
    "chat_delete": {"en": "Delete", "ko": "삭제"},
    "chat_delete_confirm": {
        "en": "Delete this conversation? This cannot be undone.",
        "ko": "이 대화를 삭제할까요? 되돌릴 수 없습니다.",
    },
    "chat_placeholder": {
        "en": "Ask about your course… (Enter to send, Shift+Enter for a new line)",
        "ko": "과정 내용을 물어보세요… (Enter 전송, Shift+Enter 줄바꿈)",
    },
    "chat_send": {"en": "Send", "ko": "보내기"},
    "chat_sending": {"en": "Answering…", "ko": "답변 중…"},
    "chat_you": {"en": "You", "ko": "나"},
    "chat_tutor": {"en": "Tutor", "ko": "튜터"},
    "chat_welcome": {
        "en": "Ask a question about your course. Answers come from the course material, "
        "with numbered sources you can open.",
        "ko": "과정에 대해 질문해 보세요. 답변은 과정 자료에서 찾아 드리며, "
        "번호가 붙은 출처를 눌러 원문을 볼 수 있습니다.",
    },
    "chat_sources": {"en": "Sources", "ko": "출처"},
    "chat_source_title": {"en": "Cited passage", "ko": "인용된 구절"},
    "chat_close": {"en": "Close", "ko": "닫기"},
    "chat_lines": {"en": "lines", "ko": "줄"},
    "chat_level": {"en": "Level", "ko": "수준"},
    "chat_course": {"en": "Course", "ko": "과정"},
    "chat_no_course": {"en": "All courses", "ko": "모든 과정"},
    "chat_mode_hint": {"en": "Hint mode", "ko": "힌트 모드"},
    "chat_mode_not_covered": {"en": "Not in the course", "ko": "과정 범위 밖"},
    "chat_feedback_up": {"en": "Helpful", "ko": "도움이 됐어요"},
    "chat_feedback_down": {"en": "Not helpful", "ko": "도움이 안 됐어요"},
    "chat_feedback_comment": {
        "en": "Optional: what could be better?",
        "ko": "선택: 어떤 점이 아쉬웠나요?",
    },
    "chat_feedback_submit": {"en": "Send feedback", "ko": "의견 보내기"},
    "chat_feedback_saved": {
        "en": "Thanks, feedback saved.",
        "ko": "고마워요, 의견을 저장했습니다.",
    },
    "chat_error": {"en": "The tutor could not answer", "ko": "튜터가 답하지 못했습니다"},
    "chat_error_network": {
        "en": "Could not reach the server. Check your connection and try again.",
        "ko": "서버에 연결하지 못했습니다. 연결을 확인하고 다시 시도하세요.",
    },
    "chat_error_login": {
        "en": "Your session has ended. Please log in again.",
        "ko": "로그인이 만료되었습니다. 다시 로그인해 주세요.",
    },
    "chat_error_load": {
        "en": "Could not load this conversation.",
        "ko": "대화를 불러오지 못했습니다.",
    },
    "chat_too_long": {"en": "Too long", "ko": "너무 깁니다"},
    "chat_source_n": {"en": "Source {n}", "ko": "출처 {n}"},
    "chat_copy": {"en": "Copy answer", "ko": "답변 복사"},
    "chat_copy_code": {"en": "Copy code", "ko": "코드 복사"},
    "chat_copied": {"en": "Copied", "ko": "복사했습니다"},
    "chat_copy_failed": {
        "en": "Could not copy. Select the text and copy it by hand.",
        "ko": "복사하지 못했습니다. 텍스트를 선택해 직접 복사하세요.",
    },
    "chat_stop": {"en": "Stop", "ko": "중지"},
    "chat_stop_label": {"en": "Stop the answer", "ko": "답변 중지"},
    "chat_stopped": {
        "en": "You stopped this answer; it was not saved.",
        "ko": "답변을 중지했습니다. 이 답변은 저장되지 않았습니다.",
    },
    "chat_unanswered": {
        "en": "This question has no saved answer (it was stopped or failed).",
        "ko": "이 질문에는 저장된 답변이 없습니다. (중지되었거나 실패했습니다)",
    },
    "chat_regenerate": {"en": "Answer again", "ko": "다시 답변"},
    "chat_regenerate_label": {
        "en": "Answer the last question again (replaces this answer)",
        "ko": "마지막 질문에 다시 답변받기 (이 답변을 바꿉니다)",
    },
    "chat_rename": {"en": "Rename", "ko": "이름 바꾸기"},
    "chat_rename_label": {"en": "Conversation title", "ko": "대화 제목"},
    "chat_rename_save": {"en": "Save", "ko": "저장"},
    "chat_rename_cancel": {"en": "Cancel", "ko": "취소"},
    "chat_rename_empty": {"en": "The title is empty.", "ko": "제목이 비어 있습니다."},
    "chat_search": {"en": "Search conversations", "ko": "대화 검색"},
    "chat_search_none": {
        "en": "No conversation matches “{q}”.",
        "ko": "“{q}”와(과) 일치하는 대화가 없습니다.",
    },
    "chat_show_history": {"en": "Conversations", "ko": "대화 목록"},
    "chat_close_history": {"en": "Close the conversation list", "ko": "대화 목록 닫기"},
    # the learning dashboard (/learn); "{x}" placeholders are filled in by the page or script
    "nav_learn": {"en": "Learn", "ko": "학습"},
    "learn_title": {"en": "My learning", "ko": "나의 학습"},
    "learn_intro": {
        "en": "Your level, what you have mastered, and what to do next.",
        "ko": "내 수준과 익힌 기술, 다음에 할 일을 한눈에 봅니다.",
    },
    "learn_level": {"en": "Level", "ko": "수준"},
    "learn_source_default": {
        "en": "Starting level until you take the placement quiz",
        "ko": "배치 퀴즈를 보기 전까지의 기본 수준",
    },
    "learn_source_placement": {"en": "Set by your placement quiz", "ko": "배치 퀴즈로 정한 수준"},
    "learn_source_mastery": {
        "en": "Reached by mastering its skills",
        "ko": "필요한 기술을 모두 익혀 달성한 수준",
    },
    "learn_source_answers": {
        "en": "From your answers so far",
        "ko": "지금까지의 답변으로 정한 수준",
    },
    "learn_progress_to": {"en": "On the way to Lv{level}", "ko": "Lv{level}까지"},
    "learn_n_of_m": {
        "en": "{done} of {total} skills mastered",
        "ko": "기술 {total}개 중 {done}개 숙달",
    },
    "learn_mean_mastery": {"en": "average mastery {pct}%", "ko": "평균 숙달도 {pct}%"},
    "learn_top_level": {
        "en": "You have reached the course's top level.",
        "ko": "이 과정의 최고 수준에 도달했습니다.",
    },
    "learn_blocking": {
        "en": "Still to master from lower levels:",
        "ko": "아래 수준에서 아직 익히지 못한 기술:",
    },
    "learn_mastery_title": {"en": "Mastery by skill", "ko": "기술별 숙달도"},
    "learn_mastery_hint": {
        "en": "The line marks mastery ({pct}%).",
        "ko": "세로선은 숙달 기준({pct}%)입니다.",
    },
    "learn_mastered": {"en": "Mastered", "ko": "숙달"},
    "learn_credited": {"en": "Known (placement)", "ko": "배치 퀴즈로 인정"},
    "learn_in_progress": {"en": "In progress", "ko": "학습 중"},
    "learn_not_started": {"en": "Not started", "ko": "시작 전"},
    "learn_answers_count": {"en": "{correct} of {n} right", "ko": "{n}문제 중 {correct}문제 정답"},
    "learn_next_lesson": {"en": "Recommended next", "ko": "다음 추천 학습"},
    "learn_open_lesson": {"en": "Find this lesson", "ko": "이 레슨 찾아보기"},
    "learn_not_ready": {
        "en": "Its prerequisites are not mastered yet.",
        "ko": "선수 기술을 아직 익히지 않았습니다.",
    },
    "learn_all_done": {
        "en": "You have mastered everything in this course.",
        "ko": "이 과정의 모든 기술을 익혔습니다.",
    },
    "learn_reviews": {"en": "Due reviews", "ko": "복습할 문제"},
    "learn_reviews_none": {
        "en": "Nothing to review right now.",
        "ko": "지금 복습할 문제가 없습니다.",
    },
    "learn_review_now": {"en": "Review now", "ko": "지금 복습하기"},
    "learn_achievements": {"en": "Achievements", "ko": "달성 기록"},
    "learn_achievements_none": {
        "en": "No level reached by mastery yet. Keep practising!",
        "ko": "아직 숙달로 달성한 수준이 없습니다. 계속 연습해 보세요!",
    },
    "learn_achieved": {"en": "Reached Lv{level}", "ko": "Lv{level} 달성"},
    "learn_placement_title": {"en": "Find your level", "ko": "내 수준 찾기"},
    "learn_placement_intro": {
        "en": "A short quiz of up to {max} questions finds where you should start. "
        "It stops as soon as your level is clear.",
        "ko": "최대 {max}문항의 짧은 퀴즈로 어디서 시작하면 좋을지 찾습니다. "
        "수준이 분명해지면 바로 끝납니다.",
    },
    "learn_placement_start": {"en": "Start the placement quiz", "ko": "배치 퀴즈 시작"},
    "learn_placement_resume": {"en": "Continue the placement quiz", "ko": "배치 퀴즈 이어서 풀기"},
    "learn_placement_tag": {"en": "Placement quiz", "ko": "배치 퀴즈"},
    "learn_placement_progress": {
        "en": "Question {n} · at most {max}",
        "ko": "{n}번째 문항 · 최대 {max}문항",
    },
    "learn_placement_done": {"en": "Placement finished", "ko": "배치 퀴즈 완료"},
    "learn_placement_result": {"en": "You start at Lv{level}.", "ko": "Lv{level}에서 시작합니다."},
    "learn_placement_after": {
        "en": "The skills up to this level count as known; practice makes them solid.",
        "ko": "이 수준까지의 기술은 아는 것으로 인정됩니다. 연습 문제로 확실히 다져 보세요.",
    },
    "learn_placement_retake": {"en": "Retake the placement quiz", "ko": "배치 퀴즈 다시 보기"},
    "learn_placement_retake_confirm": {
        "en": "Start the placement quiz again? Your answers so far stay recorded.",
        "ko": "배치 퀴즈를 다시 시작할까요? 지금까지의 답변 기록은 그대로 남습니다.",
    },
    "learn_practice_tag": {"en": "Practice", "ko": "연습"},
    "learn_review_tag": {"en": "Review", "ko": "복습"},
    "learn_practice_start": {"en": "Start practising", "ko": "연습 시작"},
    "learn_practice_none": {
        "en": "Nothing to practise right now: every skill within reach is mastered.",
        "ko": "지금 연습할 문제가 없습니다. 도달할 수 있는 기술을 모두 익혔습니다.",
    },
    "learn_back_to_practice": {"en": "Back to practice", "ko": "연습으로 돌아가기"},
    "learn_choose": {"en": "Choose one answer.", "ko": "답을 하나 고르세요."},
    "learn_check": {"en": "Check answer", "ko": "정답 확인"},
    "learn_next": {"en": "Next question", "ko": "다음 문제"},
    "learn_see_result": {"en": "See my level", "ko": "내 수준 보기"},
    "learn_correct": {"en": "Correct!", "ko": "정답입니다!"},
    "learn_wrong": {"en": "Not quite.", "ko": "아쉽지만 오답입니다."},
    "learn_right_answer": {"en": "The right answer:", "ko": "정답:"},
    "learn_explanation": {"en": "Explanation", "ko": "해설"},
    "learn_mastery_change": {"en": "Mastery", "ko": "숙달도"},
    "learn_new_achievement": {
        "en": "New achievement: you reached Lv{level}!",
        "ko": "새 달성 기록: Lv{level}에 도달했습니다!",
    },
    "learn_error": {"en": "Something went wrong", "ko": "문제가 발생했습니다"},
    "learn_error_network": {
        "en": "Could not reach the server. Check your connection and try again.",
        "ko": "서버에 연결하지 못했습니다. 연결을 확인하고 다시 시도하세요.",
    },
    "learn_error_login": {
        "en": "Your session has ended. Please log in again.",
        "ko": "로그인이 만료되었습니다. 다시 로그인해 주세요.",
    },
}

# The strings chat.js shows, sent to it as one JSON blob in chat.html.
CHAT_UI_KEYS = tuple(key for key in MESSAGES if key.startswith("chat_"))
# The same for learn.js and learn.html.
LEARN_UI_KEYS = tuple(key for key in MESSAGES if key.startswith("learn_"))

MESSAGES.update(
    {
        "nav_review": {"en": "Code review", "ko": "코드 리뷰"},
        "review_title": {"en": "Code review", "ko": "코드 리뷰"},
        "review_intro": {
            "en": "Submit your code: the tests run in a sandbox, and the review points at what "
            "to look at, without giving away the answer.",
            "ko": "코드를 제출하면 안전한 샌드박스에서 테스트를 실행하고, 정답을 알려 주는 대신 "
            "살펴볼 곳을 짚어 드립니다.",
        },
        "review_exercise": {"en": "Exercise", "ko": "실습"},
        "review_free_code": {"en": "Free code (no exercise)", "ko": "자유 코드 (실습 없음)"},
        "review_file_name": {"en": "File name", "ko": "파일 이름"},
        "review_load_starter": {"en": "Load starter code", "ko": "시작 코드 불러오기"},
        "review_submit": {"en": "Review my code", "ko": "코드 리뷰 받기"},
        "review_upload": {"en": "or upload .py files", "ko": "또는 .py 파일 올리기"},
        "review_running": {"en": "Running the tests…", "ko": "테스트를 실행하는 중…"},
        "review_failed": {"en": "The review failed", "ko": "리뷰를 완료하지 못했습니다"},
        "review_summary": {"en": "Review", "ko": "리뷰"},
        "review_tests": {"en": "Tests", "ko": "테스트"},
        "review_findings": {"en": "Code checks", "ko": "코드 검사"},
        "review_no_findings": {"en": "No findings.", "ko": "검사 결과가 없습니다."},
        "review_show_more": {"en": "Show {n} more", "ko": "{n}개 더 보기"},
        "review_suspicious": {"en": "Lines to look at", "ko": "살펴볼 줄"},
        "review_history": {"en": "Attempts", "ko": "제출 기록"},
        "review_no_history": {"en": "No attempts yet.", "ko": "아직 제출한 기록이 없습니다."},
        "review_attempt": {"en": "Attempt {n}", "ko": "{n}번째 제출"},
        "review_diff": {"en": "Changes since the previous attempt", "ko": "이전 제출과 달라진 점"},
        "review_line": {"en": "line {n}", "ko": "{n}번 줄"},
        "review_col_test": {"en": "Test", "ko": "테스트"},
        "review_col_status": {"en": "Result", "ko": "결과"},
        "review_col_input": {"en": "Input", "ko": "입력"},
        "review_col_expected": {"en": "Expected", "ko": "기대한 값"},
        "review_col_actual": {"en": "Got", "ko": "실제 값"},
        "review_col_error": {"en": "Error", "ko": "오류"},
        "review_passed_of": {"en": "{p} of {n} tests pass", "ko": "테스트 {n}개 중 {p}개 통과"},
        "review_read": {"en": "Read", "ko": "자료"},
        "review_verdict_passed": {"en": "All tests pass", "ko": "모든 테스트 통과"},
        "review_verdict_failed": {"en": "Some tests fail", "ko": "실패한 테스트가 있음"},
        "review_verdict_error": {"en": "Code could not load", "ko": "코드를 불러오지 못함"},
        "review_verdict_timeout": {"en": "Too slow (time limit)", "ko": "시간 초과"},
        "review_verdict_crashed": {"en": "Stopped by the sandbox", "ko": "샌드박스가 중단함"},
        "review_verdict_test_error": {
            "en": "The exercise's tests are broken (tell your instructor)",
            "ko": "실습 테스트에 문제가 있습니다 (강사에게 알려 주세요)",
        },
        "review_verdict_refused": {"en": "Tests not run", "ko": "테스트를 실행하지 않음"},
        "review_verdict_no_tests": {"en": "Static review only", "ko": "정적 검사만 함"},
        "review_status_passed": {"en": "passed", "ko": "통과"},
        "review_status_failed": {"en": "failed", "ko": "실패"},
        "review_status_error": {"en": "error", "ko": "오류"},
        "review_status_timeout": {"en": "timeout", "ko": "시간 초과"},
        "review_status_crashed": {"en": "crashed", "ko": "중단됨"},
        "review_empty_code": {
            "en": "Write or paste some code first.",
            "ko": "먼저 코드를 작성하거나 붙여 넣으세요.",
        },
        "review_login": {
            "en": "Log in to get your code reviewed.",
            "ko": "코드 리뷰를 받으려면 로그인하세요.",
        },
    }
)
REVIEW_UI_KEYS = tuple(key for key in MESSAGES if key.startswith("review_"))

MESSAGES.update(
    {
        "nav_console": {"en": "Console", "ko": "강사 콘솔"},
        "console_title": {"en": "Instructor console", "ko": "강사 콘솔"},
        "console_tab_overview": {"en": "Overview", "ko": "개요"},
        "console_tab_kb": {"en": "Knowledge base", "ko": "지식 베이스"},
        "console_tab_gaps": {"en": "Content gaps", "ko": "콘텐츠 공백"},
        "console_tab_cohort": {"en": "Cohort", "ko": "수강생 현황"},
        "console_tab_evals": {"en": "Eval reports", "ko": "평가 보고서"},
        "console_trainees": {"en": "Trainees", "ko": "수강생"},
        "console_open_gaps": {"en": "Unanswered questions", "ko": "답하지 못한 질문"},
        "console_gate": {"en": "Quality gate", "ko": "품질 게이트"},
        "console_gate_never": {
            "en": "No report has been checked against the gate yet (make eval-gate).",
            "ko": "아직 품질 게이트로 확인한 보고서가 없습니다 (make eval-gate).",
        },
        "console_gate_passed": {"en": "Latest gate: passed", "ko": "최근 게이트: 통과"},
        "console_gate_failed": {"en": "Latest gate: FAILED", "ko": "최근 게이트: 실패"},
        "console_report": {"en": "Report", "ko": "보고서"},
        "console_dataset": {"en": "Dataset", "ko": "데이터셋"},
        "console_items": {"en": "Items", "ko": "문항"},
        "console_open_report": {"en": "Open", "ko": "열기"},
        "console_no_reports": {
            "en": "No evaluation reports yet.",
            "ko": "아직 평가 보고서가 없습니다.",
        },
        "console_gaps_intro": {
            "en": "Questions the tutor could not answer from the course, or whose answers got a "
            "thumbs-down, grouped by meaning. Answer a group with a FAQ (indexed at once, cited "
            "from then on) or mark it out of scope.",
            "ko": "튜터가 과정 자료로 답하지 못했거나 '별로예요'를 받은 질문을 "
            "의미별로 묶었습니다. FAQ로 답하면 바로 색인되어 이후 답변에 "
            "인용되고, 범위 밖으로 표시할 수도 있습니다.",
        },
        "console_gaps_open": {"en": "Open", "ko": "미해결"},
        "console_gaps_pending": {
            "en": "Grouping {n} new questions… this page reloads when they are grouped.",
            "ko": "새 질문 {n}개를 묶는 중입니다… 끝나면 이 페이지가 새로 고쳐집니다.",
        },
        "console_gaps_resolved": {"en": "Resolved", "ko": "해결됨"},
        "console_gaps_none": {
            "en": "No open content gaps: the course answers what trainees ask.",
            "ko": "미해결 공백이 없습니다. 과정 자료가 수강생 질문에 답하고 있습니다.",
        },
        "console_gaps_trend": {"en": "questions per week", "ko": "주별 질문 수"},
        "console_gaps_more": {"en": "more", "ko": "개 더"},
        "console_gaps_retrieved": {"en": "The tutor retrieved", "ko": "튜터가 찾은 자료"},
        "console_gaps_answer": {"en": "Resolve…", "ko": "해결하기…"},
        "console_gaps_faq_title": {"en": "FAQ title", "ko": "FAQ 제목"},
        "console_gaps_faq_answer": {"en": "Answer", "ko": "답변"},
        "console_gaps_faq_lang": {"en": "Language", "ko": "언어"},
        "console_gaps_faq_save": {"en": "Publish as FAQ", "ko": "FAQ로 게시"},
        "console_gaps_note": {"en": "Note (optional)", "ko": "메모 (선택)"},
        "console_gaps_out_of_scope": {"en": "Out of scope", "ko": "범위 밖"},
        "console_gaps_src_not_covered": {"en": "not covered", "ko": "자료 없음"},
        "console_gaps_src_thumbs_down": {"en": "thumbs-down", "ko": "별로예요"},
        "console_gaps_src_low_confidence": {"en": "low confidence", "ko": "낮은 확신"},
        "console_gaps_status_answered": {"en": "FAQ", "ko": "FAQ"},
        "console_gaps_status_out_of_scope": {"en": "out of scope", "ko": "범위 밖"},
        "console_evals_help": {
            "en": "Reports are written by `kdt-tutor eval run --out var/eval/NAME` and checked "
            "with `kdt-tutor eval gate var/eval/NAME/report.json`.",
            "ko": "보고서는 `kdt-tutor eval run --out var/eval/NAME`으로 만들고 "
            "`kdt-tutor eval gate var/eval/NAME/report.json`으로 확인합니다.",
        },
    }
)


# The console's cohort analytics pages (api/templates/console_cohort*.html).
MESSAGES.update(
    {
        "cohort_intro": {
            "en": "What the course's active trainees know, ask, get wrong and where they are "
            "stuck. Every table downloads as CSV (UTF-8, opens in Excel).",
            "ko": "활성 수강생이 무엇을 알고, 묻고, 틀리며 어디서 막혀 있는지 보여 줍니다. "
            "모든 표는 CSV(UTF-8, 엑셀에서 열림)로 내려받을 수 있습니다.",
        },
        "cohort_no_course": {
            "en": "Your account has no course yet; an admin can assign one.",
            "ko": "계정에 과정이 지정되지 않았습니다. 관리자에게 과정 지정을 요청하세요.",
        },
        "cohort_no_material": {
            "en": "This course has no material in the knowledge base yet, so there are no "
            "skills to chart.",
            "ko": "이 과정의 자료가 아직 지식 베이스에 없어 표시할 기술이 없습니다.",
        },
        "cohort_no_trainees": {
            "en": "No active trainees in this course yet.",
            "ko": "이 과정에 아직 활성 수강생이 없습니다.",
        },
        "cohort_csv": {"en": "Download CSV", "ko": "CSV 내려받기"},
        "cohort_skills": {"en": "Skills", "ko": "기술"},
        "cohort_skill": {"en": "Skill", "ko": "기술"},
        "cohort_observations": {"en": "Answers", "ko": "답변 수"},
        "cohort_heatmap": {"en": "Mastery heatmap", "ko": "숙달도 히트맵"},
        "cohort_heatmap_help": {
            "en": "One row per trainee, one column per skill (grouped by level). Darker cells "
            "mean higher mastery; the darkest ones are mastered (at least {threshold}); grey "
            "means no answer on that skill yet. Click a name for the trainee's details.",
            "ko": "행은 수강생, 열은 기술(레벨별로 묶음)입니다. 색이 진할수록 숙달도가 높고, "
            "가장 진한 칸은 숙달({threshold} 이상)입니다. 회색은 아직 그 기술의 답변이 "
            "없다는 뜻입니다. 이름을 누르면 수강생 상세 화면으로 갑니다.",
        },
        "cohort_levels": {"en": "Levels and achievements", "ko": "레벨과 도달 현황"},
        "cohort_levels_help": {
            "en": "Left: trainees per current level. Right: trainees who had reached each "
            "level by the end of each week (last {weeks} weeks, weeks start on Monday, UTC).",
            "ko": "왼쪽: 현재 레벨별 수강생 수. 오른쪽: 주마다 그 주 말까지 각 레벨에 도달한 "
            "수강생 수(최근 {weeks}주, 주는 월요일 시작, UTC).",
        },
        "cohort_topics": {"en": "Most-asked topics", "ko": "가장 많이 물어본 주제"},
        "cohort_topics_help": {
            "en": "The lessons and sections the tutor cited in its answers to trainees since "
            "{since}: {questions} questions, {answers} answers, {cited} of them citing the "
            "course.",
            "ko": "{since} 이후 튜터가 수강생 질문에 답하며 인용한 레슨과 절입니다. "
            "질문 {questions}개, 답변 {answers}개 중 {cited}개가 과정 자료를 인용했습니다.",
        },
        "cohort_topics_none": {
            "en": "No answer cited the course material in this period.",
            "ko": "이 기간에 과정 자료를 인용한 답변이 없습니다.",
        },
        "cohort_lesson": {"en": "Lesson", "ko": "레슨"},
        "cohort_lesson_intro": {"en": "(introduction)", "ko": "(도입부)"},
        "cohort_answers": {"en": "Answers", "ko": "답변"},
        "cohort_sections": {"en": "Most cited sections", "ko": "많이 인용된 절"},
        "cohort_gaps": {
            "en": "Questions the course could not answer: {n}",
            "ko": "과정 자료로 답하지 못한 질문: {n}개",
        },
        "cohort_gaps_link": {
            "en": "Close them in Content gaps →",
            "ko": "콘텐츠 공백에서 해결하기 →",
        },
        "cohort_reviews": {"en": "Code reviews per exercise", "ko": "연습 문제별 코드 리뷰"},
        "cohort_reviews_help": {
            "en": "Complete reviews of active trainees: the pass rate counts the reviews whose "
            "tests ran to a verdict; findings are the static checks' (shown and hidden).",
            "ko": "활성 수강생의 완료된 리뷰입니다. 통과율은 테스트가 판정까지 실행된 리뷰 "
            "기준이며, 지적 사항은 정적 검사 결과(표시·숨김 모두)입니다.",
        },
        "cohort_reviews_none": {"en": "No code reviews yet.", "ko": "아직 코드 리뷰가 없습니다."},
        "cohort_exercise": {"en": "Exercise", "ko": "연습 문제"},
        "cohort_free_code": {"en": "Free code (no exercise)", "ko": "자유 코드(연습 문제 없음)"},
        "cohort_attempts": {"en": "Reviews", "ko": "리뷰 수"},
        "cohort_trainees_passed": {"en": "{n} passed", "ko": "{n}명 통과"},
        "cohort_pass_rate": {"en": "Pass rate", "ko": "통과율"},
        "cohort_findings": {"en": "Most common findings", "ko": "자주 나온 지적 사항"},
        "cohort_failing_tests": {"en": "Most failing tests", "ko": "자주 실패한 테스트"},
        "cohort_stuck": {"en": "Stuck trainees", "ko": "막힌 수강생"},
        "cohort_stuck_help": {
            "en": "Over the last {days} days: no answer at all (inactive); answers, but no "
            "skill's mastery rose by {gain} or more (no progress); {reviews} code reviews of one "
            "exercise in a row that did not pass; or {wrong} wrong quiz answers in a row on one "
            "skill. Accounts younger than {days} days without answers are not counted.",
            "ko": "최근 {days}일 동안 답변이 전혀 없거나(비활동), 답변은 있지만 숙달도가 "
            "{gain} 이상 오른 기술이 없거나(진전 없음), 한 연습 문제의 코드 리뷰를 {reviews}번 "
            "연속 통과하지 못했거나, 한 기술의 퀴즈를 {wrong}번 연속 틀린 수강생입니다. "
            "가입한 지 {days}일이 안 되고 답변이 없는 계정은 제외합니다.",
        },
        "cohort_stuck_none": {
            "en": "Nobody is stuck over this period.",
            "ko": "이 기간에 막힌 수강생이 없습니다.",
        },
        "cohort_days": {"en": "Days", "ko": "기간(일)"},
        "cohort_apply": {"en": "Apply", "ko": "적용"},
        "cohort_trainee": {"en": "Trainee", "ko": "수강생"},
        "cohort_level": {"en": "Level", "ko": "레벨"},
        "cohort_last_activity": {"en": "Last answer", "ko": "마지막 답변"},
        "cohort_never": {"en": "never", "ko": "없음"},
        "cohort_reasons": {"en": "Why", "ko": "이유"},
        "cohort_kind_inactive": {"en": "inactive", "ko": "비활동"},
        "cohort_kind_no_progress": {"en": "no progress", "ko": "진전 없음"},
        "cohort_kind_failed_reviews": {"en": "failing reviews", "ko": "리뷰 연속 실패"},
        "cohort_kind_wrong_answers": {"en": "wrong answers", "ko": "연속 오답"},
        "cohort_back": {"en": "← Cohort", "ko": "← 수강생 현황"},
        "cohort_trainee_summary": {
            "en": "{observations} answers ({correct} right)",
            "ko": "답변 {observations}개 (정답 {correct}개)",
        },
        "cohort_placed": {"en": "placed at Lv{level}", "ko": "배치 결과 Lv{level}"},
        "cohort_not_stuck": {"en": "Not stuck.", "ko": "막힌 곳이 없습니다."},
        "cohort_stuck_reasons": {"en": "Why stuck", "ko": "막힌 이유"},
        "cohort_review_findings": {"en": "Findings", "ko": "지적 사항"},
        "cohort_reached": {"en": "Lv{level} on {day}", "ko": "{day} Lv{level} 도달"},
        "cohort_no_achievements": {
            "en": "No level reached by mastery yet.",
            "ko": "아직 숙달로 도달한 레벨이 없습니다.",
        },
        "cohort_mastery": {"en": "Mastery", "ko": "숙달도"},
        "cohort_conversations": {"en": "Conversations", "ko": "대화"},
        "cohort_n_messages": {"en": "{n} messages", "ko": "메시지 {n}개"},
        "cohort_no_conversations": {"en": "No conversations yet.", "ko": "아직 대화가 없습니다."},
        "cohort_no_messages": {"en": "No messages.", "ko": "메시지가 없습니다."},
        "cohort_msg_user": {"en": "Trainee", "ko": "수강생"},
        "cohort_msg_assistant": {"en": "Tutor", "ko": "튜터"},
        "cohort_trainee_reviews": {"en": "Code reviews", "ko": "코드 리뷰"},
        "cohort_no_reviews": {"en": "No code reviews yet.", "ko": "아직 코드 리뷰가 없습니다."},
        "cohort_when": {"en": "When (UTC)", "ko": "시각(UTC)"},
        "cohort_verdict": {"en": "Verdict", "ko": "결과"},
        "cohort_tests": {"en": "Tests passed", "ko": "통과한 테스트"},
        "cohort_review_json": {"en": "Full review (JSON)", "ko": "리뷰 전체(JSON)"},
    }
)


# The console's knowledge base page (api/templates/console_kb.html, api/static/console_kb.js).
MESSAGES.update(
    {
        "kb_intro": {
            "en": "Upload course material, see how the tutor reads it and fix its metadata. "
            "Every change is logged, and the version it replaces is kept and can be restored.",
            "ko": "과정 자료를 올리고, 튜터가 자료를 어떻게 읽는지 확인하고, "
            "메타데이터를 고칩니다. 모든 변경은 기록되며, "
            "바뀌기 전 버전은 보관되어 복원할 수 있습니다.",
        },
        "kb_no_course": {
            "en": "Your account has no course yet; an admin can assign one.",
            "ko": "계정에 과정이 지정되지 않았습니다. 관리자에게 과정 지정을 요청하세요.",
        },
        "kb_upload": {"en": "Upload", "ko": "업로드"},
        "kb_drop": {"en": "Drop files here, or", "ko": "파일을 여기에 끌어다 놓거나"},
        "kb_choose": {"en": "choose files", "ko": "파일 선택"},
        "kb_upload_hint": {
            "en": "Markdown, PDF, notebooks, HTML, text or Python; up to {mb} MB each.",
            "ko": "Markdown, PDF, 노트북, HTML, 텍스트, Python 파일, 파일당 최대 {mb} MB.",
        },
        "kb_too_large": {"en": "over the {mb} MB limit", "ko": "{mb} MB 제한 초과"},
        "kb_uploading": {"en": "Uploading… {pct}%", "ko": "업로드 중… {pct}%"},
        "kb_queued": {"en": "Waiting to be indexed…", "ko": "색인 대기 중…"},
        "kb_phase_reading": {"en": "Reading the file…", "ko": "파일을 읽는 중…"},
        "kb_phase_embedding": {
            "en": "Indexing: {done} of {total} passages",
            "ko": "색인 중: 구절 {total}개 중 {done}개",
        },
        "kb_phase_writing": {"en": "Saving…", "ko": "저장 중…"},
        "kb_done": {
            "en": "Indexed: {chunks} passages · {kind} · {lang} ({seconds} s)",
            "ko": "색인 완료: 구절 {chunks}개 · {kind} · {lang} ({seconds}초)",
        },
        "kb_replaced": {
            "en": "replaced the previous version (kept)",
            "ko": "이전 버전을 대체함 (보관됨)",
        },
        "kb_failed": {"en": "Failed: {reason}", "ko": "실패: {reason}"},
        "kb_rejected": {"en": "Rejected: {reason}", "ko": "거부됨: {reason}"},
        "kb_duplicate": {
            "en": "Already in the course as {doc}; no second copy was made.",
            "ko": "이미 {doc}(으)로 과정에 있어 사본을 만들지 않았습니다.",
        },
        "kb_network": {
            "en": "Network error; try again.",
            "ko": "네트워크 오류입니다. 다시 시도하세요.",
        },
        "kb_resync": {"en": "Re-sync course folder", "ko": "과정 폴더 다시 동기화"},
        "kb_resyncing": {"en": "Re-syncing…", "ko": "동기화 중…"},
        "kb_resync_done": {
            "en": "Re-synced: {added} added, {updated} updated, {removed} removed, "
            "{failed} failed.",
            "ko": "동기화 완료: 추가 {added}, 갱신 {updated}, 삭제 {removed}, 실패 {failed}.",
        },
        "kb_check": {"en": "Run kb check", "ko": "kb check 실행"},
        "kb_check_ok": {
            "en": "Consistent: {docs} documents, {chunks} passages.",
            "ko": "일관됨: 문서 {docs}개, 구절 {chunks}개.",
        },
        "kb_check_problems": {"en": "{n} problem(s) found", "ko": "문제 {n}건 발견"},
        "kb_repair": {"en": "Repair", "ko": "복구"},
        "kb_documents": {"en": "Documents", "ko": "문서"},
        "kb_no_documents": {
            "en": "No documents match.",
            "ko": "조건에 맞는 문서가 없습니다.",
        },
        "kb_search": {
            "en": "Search titles, skills or content",
            "ko": "제목, 기술 또는 내용 검색",
        },
        "kb_all_modules": {"en": "All modules", "ko": "모든 모듈"},
        "kb_all_kinds": {"en": "All kinds", "ko": "모든 종류"},
        "kb_all_levels": {"en": "All levels", "ko": "모든 수준"},
        "kb_all_langs": {"en": "All languages", "ko": "모든 언어"},
        "kb_col_title": {"en": "Title", "ko": "제목"},
        "kb_col_kind": {"en": "Kind", "ko": "종류"},
        "kb_col_level": {"en": "Level", "ko": "수준"},
        "kb_col_lang": {"en": "Language", "ko": "언어"},
        "kb_col_chunks": {"en": "Passages", "ko": "구절"},
        "kb_col_source": {"en": "Source", "ko": "출처"},
        "kb_col_updated": {"en": "Updated (UTC)", "ko": "수정(UTC)"},
        "kb_col_when": {"en": "When (UTC)", "ko": "시각(UTC)"},
        "kb_col_who": {"en": "Who", "ko": "누가"},
        "kb_col_action": {"en": "Action", "ko": "작업"},
        "kb_col_document": {"en": "Document", "ko": "문서"},
        "kb_col_details": {"en": "Details", "ko": "세부 사항"},
        "kb_col_reason": {"en": "Kept because", "ko": "보관 이유"},
        "kb_source_upload": {"en": "upload", "ko": "업로드"},
        "kb_source_folder": {"en": "course folder", "ko": "과정 폴더"},
        "kb_source_console": {"en": "console", "ko": "콘솔"},
        "kb_hidden_badge": {"en": "hidden", "ko": "숨김"},
        "kb_close": {"en": "Close", "ko": "닫기"},
        "kb_field_title": {"en": "Title", "ko": "제목"},
        "kb_field_kind": {"en": "Kind", "ko": "종류"},
        "kb_field_level": {"en": "Level", "ko": "수준"},
        "kb_field_lang": {"en": "Language", "ko": "언어"},
        "kb_field_module": {"en": "Module", "ko": "모듈"},
        "kb_field_skills": {"en": "Skills (comma-separated)", "ko": "기술 (쉼표로 구분)"},
        "kb_field_prereq": {"en": "Prerequisites", "ko": "선수 기술"},
        "kb_field_hidden": {
            "en": "Hidden from trainees (the tutor never uses it)",
            "ko": "수강생에게 숨김 (튜터가 사용하지 않음)",
        },
        "kb_save": {"en": "Save and re-index", "ko": "저장 후 다시 색인"},
        "kb_saved": {"en": "Saved and re-indexed.", "ko": "저장하고 다시 색인했습니다."},
        "kb_hide": {"en": "Hide", "ko": "숨기기"},
        "kb_unhide": {"en": "Show to trainees", "ko": "수강생에게 보이기"},
        "kb_mark_solution": {"en": "Mark as solution", "ko": "정답 자료로 표시"},
        "kb_delete": {"en": "Delete", "ko": "삭제"},
        "kb_delete_confirm": {
            "en": "Delete {doc}? It is kept as a version and can be restored.",
            "ko": "{doc}을(를) 삭제할까요? 버전으로 보관되어 복원할 수 있습니다.",
        },
        "kb_deleted": {
            "en": "Deleted; restore it from Versions below.",
            "ko": "삭제했습니다. 아래 버전 목록에서 복원할 수 있습니다.",
        },
        "kb_file_remains": {
            "en": "Its file is still in the course folder: re-syncing brings it back. "
            "Hide it to keep it from trainees.",
            "ko": "파일이 과정 폴더에 남아 있어 다시 동기화하면 돌아옵니다. "
            "수강생에게서 감추려면 숨기기를 사용하세요.",
        },
        "kb_conflict": {
            "en": "Someone else changed this document meanwhile; nothing was saved. "
            "Reload it and apply your change again.",
            "ko": "그사이 다른 사람이 이 문서를 바꿔 저장하지 않았습니다. "
            "다시 불러와 변경을 다시 적용하세요.",
        },
        "kb_reload": {"en": "Reload", "ko": "다시 불러오기"},
        "kb_chunks": {
            "en": "Passages as the tutor sees them",
            "ko": "튜터가 보는 구절",
        },
        "kb_lines": {"en": "lines", "ko": "줄"},
        "kb_versions": {"en": "Versions", "ko": "버전"},
        "kb_restore": {"en": "Restore", "ko": "복원"},
        "kb_no_versions": {
            "en": "No versions kept yet: they appear when a document is replaced, edited, "
            "hidden or deleted.",
            "ko": "아직 보관된 버전이 없습니다. 문서를 대체, 수정, 숨김, 삭제하면 생깁니다.",
        },
        "kb_restored": {"en": "Restored.", "ko": "복원했습니다."},
        "kb_reason_replaced": {"en": "replaced by an upload", "ko": "업로드로 대체됨"},
        "kb_reason_edited": {"en": "metadata edited", "ko": "메타데이터 수정"},
        "kb_reason_deleted": {"en": "deleted", "ko": "삭제됨"},
        "kb_reason_restored_over": {"en": "another version restored", "ko": "다른 버전 복원"},
        "kb_reason_removed_by_resync": {
            "en": "file gone at re-sync",
            "ko": "동기화 때 파일 없음",
        },
        "kb_audit": {"en": "Change log", "ko": "변경 기록"},
        "kb_action_upload": {"en": "uploaded", "ko": "업로드"},
        "kb_action_replace": {"en": "replaced", "ko": "대체"},
        "kb_action_edit": {"en": "edited", "ko": "수정"},
        "kb_action_hide": {"en": "hid", "ko": "숨김"},
        "kb_action_unhide": {"en": "showed again", "ko": "다시 보임"},
        "kb_action_delete": {"en": "deleted", "ko": "삭제"},
        "kb_action_restore": {"en": "restored", "ko": "복원"},
        "kb_action_resync": {"en": "re-synced the folder", "ko": "폴더 동기화"},
        "kb_action_repair": {"en": "repaired the indexes", "ko": "색인 복구"},
        "kb_action_upload_rejected": {"en": "upload rejected", "ko": "업로드 거부"},
        "kb_action_upload_duplicate": {"en": "duplicate upload", "ko": "중복 업로드"},
        "kb_action_upload_failed": {"en": "upload failed", "ko": "업로드 실패"},
    }
)
KB_UI_KEYS = tuple(key for key in MESSAGES if key.startswith("kb_"))


def pick_lang(request: Request) -> str:
    for candidate in (request.query_params.get("lang"), request.cookies.get("kdt_lang")):
        if candidate in LANGS:
            return candidate
    accept = request.headers.get("accept-language", "").lower()
    return "en" if accept.startswith("en") else "ko"


def translator(lang: str):
    def t(key: str) -> str:
        entry = MESSAGES.get(key)
        return entry.get(lang, entry["en"]) if entry else key

    return t


# --- the console's exercises and quiz page (api/static/console_exercises.js) ------------------
MESSAGES.update(
    {
        "console_tab_exercises": {"en": "Exercises & quizzes", "ko": "실습·퀴즈"},
        "authoring_intro": {
            "en": "Write exercises and quiz questions for this course. An exercise is saved only "
            "when its tests pass against its solution in the sandbox; saved material is indexed "
            "at once, so trainees can submit it for review and the tutor knows it.",
            "ko": "이 과정의 실습 문제와 퀴즈를 작성합니다. 실습은 샌드박스에서 테스트가 "
            "모범 답안을 통과해야만 저장되며, 저장하면 바로 색인되어 수강생이 코드 리뷰를 "
            "받을 수 있고 튜터도 그 내용을 압니다.",
        },
        "authoring_exercises": {"en": "Exercises", "ko": "실습 문제"},
        "authoring_quiz": {"en": "Quiz questions", "ko": "퀴즈 문항"},
        "authoring_none": {"en": "Nothing yet.", "ko": "아직 없습니다."},
        "authoring_new_exercise": {"en": "New exercise", "ko": "새 실습"},
        "authoring_edit": {"en": "Edit", "ko": "편집"},
        "authoring_delete": {"en": "Delete", "ko": "삭제"},
        "authoring_cancel": {"en": "Cancel", "ko": "취소"},
        "authoring_save": {"en": "Save", "ko": "저장"},
        "authoring_saving": {"en": "Checking and saving…", "ko": "확인하고 저장하는 중…"},
        "authoring_saved": {"en": "Saved", "ko": "저장했습니다"},
        "authoring_source": {"en": "Source", "ko": "출처"},
        "authoring_source_authored": {"en": "written here", "ko": "콘솔에서 작성"},
        "authoring_source_course": {"en": "course folder", "ko": "과정 폴더"},
        "authoring_title": {"en": "Title", "ko": "제목"},
        "authoring_level": {"en": "Level", "ko": "수준"},
        "authoring_skills": {"en": "Skills", "ko": "스킬"},
        "authoring_prerequisites": {"en": "Prerequisites", "ko": "선수 스킬"},
        "authoring_module": {"en": "Module", "ko": "모듈"},
        "authoring_lang": {"en": "Language", "ko": "언어"},
        "authoring_names_hint": {
            "en": "comma-separated, from the course's skills:",
            "ko": "쉼표로 구분, 과정의 스킬 중에서:",
        },
        "authoring_statement": {"en": "Statement (Markdown)", "ko": "문제 설명 (Markdown)"},
        "authoring_korean": {"en": "Korean version (optional)", "ko": "한국어판 (선택)"},
        "authoring_title_ko": {"en": "Korean title", "ko": "한국어 제목"},
        "authoring_statement_ko": {"en": "Korean statement", "ko": "한국어 문제 설명"},
        "authoring_starter": {"en": "Starter code (starter.py)", "ko": "시작 코드 (starter.py)"},
        "authoring_solution": {"en": "Solution (solution.py)", "ko": "모범 답안 (solution.py)"},
        "authoring_tests_json": {
            "en": "Tests as JSON cases (tests.json)",
            "ko": "JSON 테스트 케이스 (tests.json)",
        },
        "authoring_tests_py": {
            "en": "Tests as a pytest file (from submission import …)",
            "ko": "pytest 테스트 파일 (from submission import …)",
        },
        "authoring_tests_hint": {
            "en": "Either format or both; they run against the solution before saving.",
            "ko": "둘 중 하나 또는 둘 다 쓸 수 있고, 저장 전에 모범 답안으로 실행됩니다.",
        },
        "authoring_check": {
            "en": "Run the tests against the solution",
            "ko": "모범 답안으로 테스트 실행",
        },
        "authoring_checking": {"en": "Running the tests…", "ko": "테스트 실행 중…"},
        "authoring_check_ok": {
            "en": "The solution passes all {n} tests.",
            "ko": "모범 답안이 테스트 {n}개를 모두 통과합니다.",
        },
        "authoring_check_failed": {
            "en": "The solution passes only {passed} of {total} tests: it cannot be saved.",
            "ko": "모범 답안이 테스트 {total}개 중 {passed}개만 통과하므로 저장할 수 없습니다.",
        },
        "authoring_check_case": {"en": "Test", "ko": "테스트"},
        "authoring_check_status": {"en": "Result", "ko": "결과"},
        "authoring_check_input": {"en": "Input", "ko": "입력"},
        "authoring_check_expected": {"en": "Expected", "ko": "기대값"},
        "authoring_check_actual": {"en": "Got", "ko": "실제값"},
        "authoring_new_exercise_title": {"en": "New exercise", "ko": "새 실습 만들기"},
        "authoring_edit_exercise_title": {"en": "Edit exercise {id}", "ko": "실습 {id} 편집"},
        "authoring_conflict": {
            "en": "Someone else changed this meanwhile: reload the page and apply your changes "
            "again.",
            "ko": "그사이 다른 사람이 수정했습니다. 페이지를 새로 고친 뒤 다시 적용하세요.",
        },
        "authoring_saved_exercise": {
            "en": "Saved and indexed: exercise {id}.",
            "ko": "저장하고 색인했습니다: 실습 {id}.",
        },
        "authoring_new_question": {"en": "New question", "ko": "새 문항"},
        "authoring_edit_question_title": {"en": "Edit question {id}", "ko": "문항 {id} 편집"},
        "authoring_question": {"en": "Question", "ko": "질문"},
        "authoring_options": {"en": "Options (one per line)", "ko": "보기 (한 줄에 하나)"},
        "authoring_answer": {"en": "Correct option", "ko": "정답 보기"},
        "authoring_explanation": {"en": "Explanation", "ko": "해설"},
        "authoring_lesson": {"en": "Lesson id (optional)", "ko": "레슨 id (선택)"},
        "authoring_delete_confirm": {
            "en": "Delete question {id}?",
            "ko": "문항 {id}을(를) 삭제할까요?",
        },
        "authoring_export": {"en": "Export quiz.jsonl", "ko": "quiz.jsonl 내보내기"},
        "authoring_import": {"en": "Import quiz.jsonl", "ko": "quiz.jsonl 가져오기"},
        "authoring_imported": {
            "en": "Imported: {added} added, {updated} updated, {unchanged} unchanged.",
            "ko": "가져왔습니다: 추가 {added}, 수정 {updated}, 변경 없음 {unchanged}.",
        },
        "authoring_no_course": {
            "en": "This course has no material yet; ingest it first.",
            "ko": "이 과정에는 아직 자료가 없습니다. 먼저 자료를 색인하세요.",
        },
    }
)
AUTHORING_UI_KEYS = tuple(key for key in MESSAGES if key.startswith("authoring_"))
