/* Content gaps page: answer a group with a FAQ, or mark it out of scope, then reload. */
(function () {
  "use strict";
  const app = document.getElementById("gaps-app");
  if (!app || !window.KdtUi) return;
  const { api } = window.KdtUi;
  const error = document.getElementById("gaps-error");
  const course = app.dataset.course;

  function fail(err) {
    error.hidden = false;
    error.textContent = err.message;
  }

  async function post(group, action, body, button) {
    button.disabled = true;
    try {
      const path = "/api/gaps/" + encodeURIComponent(group) + "/" + action +
        "?course=" + encodeURIComponent(course);
      await api(path, { method: "POST", json: body });
      window.location.reload();
    } catch (err) {
      fail(err);
      button.disabled = false;
    }
  }

  // New questions still being grouped: reload in a few seconds, unless an answer is being
  // written (a reload would lose it).
  if (document.querySelector("[data-testid=gaps-pending]")) {
    window.setTimeout(function reloadWhenIdle() {
      const writing = Array.from(document.querySelectorAll(".gap-resolve")).some(
        (d) => d.open);
      if (writing) window.setTimeout(reloadWhenIdle, 3000);
      else window.location.reload();
    }, 3000);
  }

  for (const article of document.querySelectorAll("[data-testid=gap-group]")) {
    const key = article.dataset.key;
    const faq = article.querySelector(".gap-faq");
    faq.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(faq);
      post(key, "faq", { title: data.get("title"), answer: data.get("answer"),
        lang: data.get("lang") }, faq.querySelector("button"));
    });
    const oos = article.querySelector(".gap-oos");
    oos.addEventListener("submit", (event) => {
      event.preventDefault();
      post(key, "out-of-scope", { note: new FormData(oos).get("note") || null },
        oos.querySelector("button"));
    });
  }
})();
