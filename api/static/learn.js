/* The learning dashboard: the quiz card (placement quiz, then practice and reviews) with
 * immediate feedback, and the panels (mastery chart, level, next lesson, reviews,
 * achievements), which the server renders: after every answer they are fetched again from
 * /learn/panels and swapped in, with the mastery bars animated from their old widths.
 * Every user-visible string comes from the #learn-strings JSON blob rendered by learn.html. */
(function () {
  "use strict";

  const app = document.getElementById("learn-app");
  if (!app || !window.KdtUi) return;
  const { h, readJson, formatter, apiClient, errorBox } = window.KdtUi;

  const S = readJson("learn-strings");
  const LANG = app.dataset.lang || "ko";
  const fmt = formatter(S);

  const el = {
    quiz: document.getElementById("quiz"),
    error: document.getElementById("learn-error"),
    panels: document.getElementById("learn-panels"),
  };

  // mode: "placement" | "practice" | "review"; item: the item on screen; phase: "ask" | "feedback"
  const quiz = {
    mode: null, item: null, phase: null, selected: null, submission: null, session: null,
    context: null, lastItemId: null, busy: false,
  };
  let board = readState(el.panels);

  const api = apiClient({ network: S.learn_error_network, login: S.learn_error_login });
  const showError = errorBox(el.error, S.learn_error);

  // --- small helpers -------------------------------------------------------------------
  /** Text with `code` spans (quiz questions and explanations use backticks), as nodes. */
  function inline(text) {
    return String(text || "").split(/(`[^`\n]+`)/).filter(Boolean).map((part) => (
      part.length > 2 && part.startsWith("`") && part.endsWith("`")
        ? h("code", { text: part.slice(1, -1) })
        : part
    ));
  }

  function pct(x) {
    return Math.round(Number(x || 0) * 100);
  }

  function newSubmissionId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID().replace(/-/g, "");
    }
    // randomUUID needs a secure context; a bootcamp server on plain http is not one.
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // --- panels: state, refresh, bar animation -------------------------------------------
  function readState(root) {
    const node = root.querySelector('script[data-panel="state"]');
    return node ? JSON.parse(node.textContent) : null;
  }

  function barWidths() {
    const widths = {};
    for (const row of el.panels.querySelectorAll(".skill-row")) {
      const fill = row.querySelector(".skill-fill");
      widths[row.dataset.skill] = { width: fill.style.width, mastery: row.dataset.mastery };
    }
    return widths;
  }

  /** Move the bars of skills that just changed at once, before the panels come back. */
  function nudgeBars(changes) {
    for (const c of changes || []) {
      const row = el.panels.querySelector('.skill-row[data-skill="' + CSS.escape(c.id) + '"]');
      if (!row) continue;
      row.querySelector(".skill-fill").style.width = pct(c.after) + "%";
      row.querySelector(".skill-pct").textContent = pct(c.after) + "%";
      row.classList.add("changed");
    }
  }

  async function refreshPanels() {
    const before = barWidths();
    let html;
    try {
      const response = await api("/learn/panels?lang=" + encodeURIComponent(LANG), {
        headers: { Accept: "text/html" },
      });
      html = await response.text();
    } catch (err) {
      showError(err.message);
      return;
    }
    const template = document.createElement("template");
    template.innerHTML = html;
    const state = readState(template.content);
    if (!state) return;
    board = state;
    el.panels.replaceChildren(template.content);
    // Animate every bar from where it was to where it is now; flag the ones that moved.
    const moved = [];
    for (const row of el.panels.querySelectorAll(".skill-row")) {
      const old = before[row.dataset.skill];
      if (!old) continue;
      const fill = row.querySelector(".skill-fill");
      const target = fill.style.width;
      if (old.mastery !== row.dataset.mastery) row.classList.add("changed");
      if (old.width === target) continue;
      fill.style.transition = "none";
      fill.style.width = old.width;
      moved.push([fill, target]);
    }
    if (moved.length) {
      void el.panels.offsetWidth; // apply the old widths before transitioning to the new
      for (const [fill, target] of moved) {
        fill.style.transition = "";
        fill.style.width = target;
      }
    }
  }

  el.panels.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action=review]");
    if (button) {
      event.preventDefault();
      startReviews();
      el.quiz.scrollIntoView({ behavior: "smooth", block: "start" });
    }
  });

  // --- the quiz card -------------------------------------------------------------------
  function card(children, attrs) {
    el.quiz.replaceChildren(...children.filter(Boolean));
    el.quiz.dataset.mode = (attrs && attrs.mode) || "";
    el.quiz.dataset.itemId = (attrs && attrs.itemId) || "";
  }

  function quizHead(tagText, tagClass, right) {
    return h("header", { class: "quiz-head" }, [
      h("span", { class: "quiz-tag " + tagClass, "data-testid": "quiz-tag", text: tagText }),
      right ? h("span", { class: "quiz-progress muted small", "data-testid": "quiz-progress" },
        right) : null,
    ]);
  }

  function footerLinks() {
    const links = [];
    const placement = board && board.placement;
    const reviews = board && board.reviews ? board.reviews.due : 0;
    if (quiz.mode === "review") {
      links.push(h("button", {
        type: "button", class: "link", "data-testid": "back-to-practice",
        text: S.learn_back_to_practice, onclick: () => { quiz.mode = "practice"; nextItem(); },
      }));
    } else if (reviews > 0 && quiz.mode === "practice") {
      links.push(h("button", {
        type: "button", class: "link", "data-testid": "quiz-review",
        text: S.learn_review_now + " (" + reviews + ")", onclick: startReviews,
      }));
    }
    if (placement && placement.status === "finished" && quiz.mode !== "placement") {
      links.push(h("button", {
        type: "button", class: "link", "data-testid": "placement-retake",
        text: S.learn_placement_retake,
        onclick: () => {
          if (window.confirm(S.learn_placement_retake_confirm)) startPlacement(true);
        },
      }));
    }
    return links.length ? h("footer", { class: "quiz-foot" }, links) : null;
  }

  function renderMessage(text) {
    card([h("p", { class: "muted", "data-testid": "quiz-message", text: text })]);
  }

  function renderPlacementIntro(resume) {
    const max = (board.placement && board.placement.max_items) || 12;
    card([
      quizHead(S.learn_placement_tag, "placement"),
      h("h2", { class: "quiz-title", text: S.learn_placement_title }),
      h("p", { class: "muted", text: fmt("learn_placement_intro", { max: max }) }),
      h("div", { class: "quiz-actions" }, [
        h("button", {
          type: "button", "data-testid": "placement-start",
          text: resume ? S.learn_placement_resume : S.learn_placement_start,
          onclick: () => startPlacement(false),
        }),
      ]),
    ], { mode: "intro" });
  }

  function renderPlacementResult(view) {
    card([
      quizHead(S.learn_placement_done, "placement"),
      h("div", { class: "placement-result", "data-testid": "placement-result" }, [
        h("span", { class: "level-badge lv-" + view.level, text: "Lv" + view.level }),
        h("div", {}, [
          h("h2", { class: "quiz-title", text: fmt("learn_placement_result", { level: view.level }) }),
          h("p", { class: "muted", text: S.learn_placement_after }),
        ]),
      ]),
      h("div", { class: "quiz-actions" }, [
        h("button", {
          type: "button", "data-testid": "practice-start", text: S.learn_practice_start,
          onclick: () => { quiz.mode = "practice"; nextItem(); },
        }),
      ]),
    ], { mode: "result" });
  }

  function renderQuestion(item, context) {
    quiz.item = item;
    quiz.context = context;
    quiz.phase = "ask";
    quiz.selected = null;
    quiz.submission = newSubmissionId();
    const tag = {
      placement: [S.learn_placement_tag, "placement"],
      practice: [S.learn_practice_tag, "practice"],
      review: [S.learn_review_tag, "review"],
    }[quiz.mode];
    const options = item.options.map((text, i) => h("button", {
      type: "button", class: "quiz-option", role: "radio", "aria-checked": "false",
      "data-index": String(i), "data-testid": "quiz-option",
      onclick: () => select(i),
    }, [
      h("span", { class: "quiz-option-key", text: String.fromCharCode(65 + i) }),
      h("span", { class: "quiz-option-text" }, inline(text)),
    ]));
    const check = h("button", {
      type: "button", class: "quiz-check", "data-testid": "quiz-check", disabled: true,
      text: S.learn_check, onclick: submit,
    });
    card([
      quizHead(tag[0], tag[1], context.progress),
      context.skill ? h("div", { class: "quiz-skill small" }, [
        h("span", { class: "tag", text: context.skill }),
        context.mastery !== undefined
          ? h("span", { class: "muted", text: S.learn_mastery_change + " " + pct(context.mastery) + "%" })
          : null,
      ]) : null,
      h("p", { class: "quiz-question", "data-testid": "quiz-question" }, inline(item.question)),
      h("div", {
        class: "quiz-options", role: "radiogroup", "aria-label": S.learn_choose,
      }, options),
      h("div", { class: "quiz-feedback", "data-testid": "quiz-feedback", hidden: true }),
      h("div", { class: "quiz-actions" }, [check]),
      footerLinks(),
    ], { mode: quiz.mode, itemId: item.id });
  }

  function select(index) {
    if (quiz.phase !== "ask" || quiz.busy) return;
    quiz.selected = index;
    for (const node of el.quiz.querySelectorAll(".quiz-option")) {
      const on = Number(node.dataset.index) === index;
      node.classList.toggle("selected", on);
      node.setAttribute("aria-checked", String(on));
    }
    el.quiz.querySelector(".quiz-check").disabled = false;
  }

  function setBusy(on) {
    quiz.busy = on;
    el.quiz.classList.toggle("busy", on);
    const check = el.quiz.querySelector(".quiz-check");
    if (check) check.disabled = on || quiz.selected === null;
  }

  async function submit() {
    if (quiz.phase !== "ask" || quiz.selected === null || quiz.busy) return;
    showError(null);
    setBusy(true);
    el.quiz.dataset.synced = "0"; // "1" again once the panels show this answer
    const item = quiz.item;
    let feedback;
    let next = null;
    try {
      if (quiz.mode === "placement") {
        const view = await (await api("/api/learner/placement/answer?lang=" + LANG, {
          method: "POST",
          json: { session_id: quiz.session.session_id, item_id: item.id, chosen_index: quiz.selected },
        })).json();
        quiz.session = view;
        feedback = view.feedback;
        next = view;
      } else {
        feedback = await (await api("/api/learner/answers?lang=" + LANG, {
          method: "POST",
          json: {
            item_id: item.id, chosen_index: quiz.selected, submission_id: quiz.submission,
            source: quiz.mode === "review" ? "review" : "quiz",
          },
        })).json();
      }
    } catch (err) {
      setBusy(false);
      showError(err.message);
      return;
    }
    quiz.lastItemId = item.id;
    quiz.phase = "feedback";
    setBusy(false);
    renderFeedback(feedback, next);
    nudgeBars(feedback.skills);
    await refreshPanels();
    // A review or practice answer may have changed what the footer offers.
    const foot = el.quiz.querySelector(".quiz-foot");
    const fresh = footerLinks();
    if (foot && fresh) foot.replaceWith(fresh);
    else if (foot) foot.remove();
    else if (fresh) el.quiz.append(fresh);
    el.quiz.dataset.synced = "1";
  }

  function renderFeedback(f, placementView) {
    for (const node of el.quiz.querySelectorAll(".quiz-option")) {
      const i = Number(node.dataset.index);
      node.disabled = true;
      node.classList.toggle("right", i === f.answer_index);
      node.classList.toggle("wrong", i === f.chosen_index && !f.correct);
    }
    const box = el.quiz.querySelector(".quiz-feedback");
    const parts = [
      h("p", {
        class: "verdict " + (f.correct ? "good" : "bad"), "data-testid": "feedback-verdict",
        text: (f.correct ? "✓ " : "✗ ") + (f.correct ? S.learn_correct : S.learn_wrong),
      }),
    ];
    if (!f.correct && f.right_option !== null) {
      parts.push(h("p", { class: "right-answer", "data-testid": "feedback-right" }, [
        h("strong", { text: S.learn_right_answer + " " }),
        h("span", {}, inline(f.right_option)),
      ]));
    }
    if (f.explanation) {
      parts.push(h("div", { class: "explanation", "data-testid": "feedback-explanation" }, [
        h("div", { class: "explanation-label", text: S.learn_explanation }),
        h("p", {}, inline(f.explanation)),
      ]));
    }
    if (f.skills && f.skills.length) {
      parts.push(h("ul", { class: "mastery-changes" }, f.skills.map((c) => {
        const up = c.after >= c.before;
        return h("li", { "data-testid": "mastery-change" }, [
          h("span", { class: "tag", text: c.name }),
          h("span", { text: pct(c.before) + "% → " }),
          h("strong", { class: up ? "up" : "down", text: pct(c.after) + "%" }),
          c.mastered ? h("span", { class: "ok small", text: " ✓ " + S.learn_mastered }) : null,
        ]);
      })));
    }
    if (f.achievement) {
      parts.push(h("p", {
        class: "achievement-banner", "data-testid": "new-achievement",
        text: "★ " + fmt("learn_new_achievement", { level: f.achievement.level }),
      }));
    }
    box.replaceChildren(...parts);
    box.hidden = false;
    const finished = placementView && placementView.finished;
    const next = h("button", {
      type: "button", class: "quiz-next", "data-testid": "quiz-next",
      text: finished ? S.learn_see_result : S.learn_next,
      onclick: () => {
        if (placementView) {
          if (finished) renderPlacementResult(placementView);
          else showPlacement(placementView);
        } else {
          nextItem();
        }
      },
    });
    el.quiz.querySelector(".quiz-actions").replaceChildren(next);
    next.focus({ preventScroll: true });
  }

  // --- flows ---------------------------------------------------------------------------
  function showPlacement(view) {
    quiz.mode = "placement";
    quiz.session = view;
    if (view.finished || !view.item) {
      renderPlacementResult(view);
      return;
    }
    renderQuestion(view.item, {
      progress: fmt("learn_placement_progress", { n: view.answered + 1, max: view.max_items }),
    });
  }

  async function startPlacement(restart) {
    showError(null);
    try {
      const view = await (await api("/api/learner/placement?lang=" + LANG, {
        method: "POST", json: { restart: Boolean(restart), lang: LANG },
      })).json();
      showPlacement(view);
      if (restart) await refreshPanels();
    } catch (err) {
      showError(err.message);
    }
  }

  function startReviews() {
    quiz.mode = "review";
    nextItem();
  }

  function nextItem() {
    if (quiz.mode === "review") {
      const due = (board.reviews && board.reviews.items) || [];
      const pick = due.find((r) => r.item.id !== quiz.lastItemId) || null;
      if (!pick) {
        quiz.mode = "practice";
        nextItem();
        return;
      }
      renderQuestion(pick.item, {
        skill: pick.item.skills.map((s) => s.name).join(", "),
        progress: S.learn_reviews + " · " + due.length,
      });
      return;
    }
    quiz.mode = "practice";
    const items = board.practice || [];
    const pick = items.find((p) => p.item.id !== quiz.lastItemId) || items[0];
    if (!pick) {
      card([
        quizHead(S.learn_practice_tag, "practice"),
        h("p", { class: "muted", "data-testid": "practice-empty", text: S.learn_practice_none }),
        footerLinks(),
      ], { mode: "practice" });
      return;
    }
    renderQuestion(pick.item, { skill: pick.skill.name, mastery: pick.mastery });
  }

  function start() {
    if (!board || !board.course || !board.skills.length) {
      renderMessage((board && board.message) || "");
      return;
    }
    const placement = board.placement;
    if (!placement || placement.status !== "finished") {
      renderPlacementIntro(Boolean(placement && placement.status === "active"));
      return;
    }
    quiz.mode = "practice";
    nextItem();
  }

  // Keys: A-D or 1-9 choose an option, Enter checks the answer or goes on.
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.isComposing) return;
    if (event.target.closest("input, textarea, select")) return;
    if (quiz.phase === "ask" && quiz.item) {
      const key = event.key.toLowerCase();
      let index = -1;
      if (/^[1-9]$/.test(key)) index = Number(key) - 1;
      else if (/^[a-i]$/.test(key)) index = key.charCodeAt(0) - 97;
      if (index >= 0 && index < quiz.item.options.length) {
        select(index);
        event.preventDefault();
      } else if (key === "enter" && quiz.selected !== null && !event.target.closest("button")) {
        submit();
        event.preventDefault();
      }
    }
  });

  start();
})();
