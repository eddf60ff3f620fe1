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
}

# The strings chat.js shows, sent to it as one JSON blob in chat.html.
CHAT_UI_KEYS = tuple(key for key in MESSAGES if key.startswith("chat_"))


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
