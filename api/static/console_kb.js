/* Knowledge base page: upload with progress per file (bytes sent, then the ingest job's
 * passages indexed), the document list with filters and search, a document's metadata
 * form, chunks and actions, versions with restore, the change log, re-sync and kb check. */
(function () {
  "use strict";
  const app = document.getElementById("kb-app");
  if (!app || !window.KdtUi || !app.dataset.course) return;
  const { h, readJson, api: callApi, formatter, csrfToken } = window.KdtUi;
  const S = readJson("kb-strings");
  const fmt = formatter(S);
  const api = (path, options) => callApi(path, options, { network: S.kb_network });
  const course = app.dataset.course;
  const q = "course=" + encodeURIComponent(course);
  const $ = (id) => document.getElementById(id);
  const error = $("kb-error");
  let current = null; // the open document (its JSON, with "version")

  function fail(err, where) {
    const box = where || error;
    box.hidden = false;
    box.textContent = err.message || String(err);
  }
  function clear(box) { box.hidden = true; box.textContent = ""; }
  const when = (iso) => (iso ? iso.replace("T", " ").slice(0, 16) : "");
  const docPath = (id) => id.split("/").map(encodeURIComponent).join("/");
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // --- uploads ------------------------------------------------------------------------
  function uploadRow(file) {
    const fill = h("span", { class: "progress-fill", style: "width:0%" });
    const status = h("span", { class: "kb-upload-status", "data-testid": "kb-upload-status" });
    const row = h("li", { class: "kb-upload-row", "data-testid": "kb-upload", "data-name": file.name }, [
      h("div", { class: "progress-label" }, [h("strong", { text: file.name }), status]),
      h("div", { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" }, [fill]),
    ]);
    $("kb-uploads").prepend(row);
    return {
      row,
      set(pct, text, state) {
        fill.style.width = Math.max(0, Math.min(100, pct)) + "%";
        row.querySelector(".progress").setAttribute("aria-valuenow", String(Math.round(pct)));
        status.textContent = text;
        if (state) row.dataset.state = state;
      },
    };
  }

  function send(file, ui) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/kb/uploads?" + q);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRF-Token", csrfToken());
      xhr.upload.onprogress = (event) => {
        if (!event.lengthComputable) return;
        const pct = (event.loaded / event.total) * 100;
        ui.set(pct * 0.3, fmt("kb_uploading", { pct: Math.round(pct) }), "uploading");
      };
      xhr.onload = () => {
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
        if (xhr.status >= 200 && xhr.status < 300 && body) resolve(body.results[0]);
        else reject(new Error((body && body.error && body.error.message) || xhr.statusText));
      };
      xhr.onerror = () => reject(new Error(S.kb_network));
      const form = new FormData();
      form.append("files", file, file.name);
      xhr.send(form);
    });
  }

  async function follow(jobId, ui) {
    for (;;) {
      const job = await (await api("/api/kb/jobs/" + encodeURIComponent(jobId))).json();
      if (job.status === "done") return job;
      if (job.status === "failed") throw new Error(fmt("kb_failed", { reason: job.error }));
      if (job.phase === "embedding" && job.total) {
        ui.set(30 + (65 * job.done) / job.total, fmt("kb_phase_embedding", job), "indexing");
      } else if (job.phase === "writing") {
        ui.set(96, S.kb_phase_writing, "indexing");
      } else if (job.phase === "reading") {
        ui.set(31, S.kb_phase_reading, "indexing");
      } else {
        ui.set(30, S.kb_queued, "indexing");
      }
      await sleep(400);
    }
  }

  async function uploadOne(file) {
    const ui = uploadRow(file);
    const maxMb = parseFloat(app.dataset.maxMb);
    if (file.size > maxMb * 1024 * 1024) {
      ui.set(100, fmt("kb_rejected", { reason: fmt("kb_too_large", { mb: maxMb }) }), "rejected");
      return;
    }
    try {
      const result = await send(file, ui);
      if (result.status === "rejected") {
        ui.set(100, fmt("kb_rejected", { reason: result.reason }), "rejected");
        return;
      }
      if (result.status === "duplicate") {
        ui.set(100, fmt("kb_duplicate", { doc: result.duplicate_of }), "duplicate");
        return;
      }
      ui.set(30, S.kb_queued, "indexing");
      const job = await follow(result.job_id, ui);
      const r = job.report;
      let text = fmt("kb_done", { chunks: r.chunks, kind: r.kind, lang: r.lang, seconds: r.seconds });
      if (r.replaced) text += " · " + S.kb_replaced;
      ui.set(100, text, "done");
      ui.row.dataset.docId = r.doc_id;
      await refresh();
    } catch (err) {
      ui.set(100, err.message, "failed");
      loadAudit();
    }
  }

  async function uploadAll(files) {
    for (const file of files) await uploadOne(file); // one at a time: progress stays readable
  }

  const drop = $("kb-drop");
  const input = $("kb-files");
  input.addEventListener("change", () => { uploadAll([...input.files]); input.value = ""; });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  for (const type of ["dragleave", "drop"]) {
    drop.addEventListener(type, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    uploadAll([...e.dataTransfer.files]);
  });

  // --- the document list ----------------------------------------------------------------
  const filters = $("kb-filters");
  async function loadDocuments() {
    const params = new URLSearchParams(new FormData(filters));
    for (const [key, value] of [...params.entries()]) if (!value) params.delete(key);
    params.set("course", course);
    const body = await (await api("/api/kb/documents?" + params.toString())).json();
    const rows = $("kb-doc-rows");
    rows.replaceChildren();
    for (const d of body.documents) {
      const title = h("a", { href: "#", "data-testid": "kb-doc-link", onclick: (e) => { e.preventDefault(); openDocument(d.doc_id); } }, [d.title]);
      const badges = [
        d.hidden ? h("span", { class: "tag kb-hidden", "data-testid": "kb-hidden-badge", text: S.kb_hidden_badge }) : null,
        d.status !== "ready" && !d.hidden ? h("span", { class: "tag", text: d.status }) : null,
      ];
      rows.append(h("tr", { "data-testid": "kb-doc-row", "data-doc-id": d.doc_id, "data-kind": d.kind, "data-status": d.status }, [
        h("td", {}, [title, " ", ...badges, h("div", { class: "muted small" }, [h("code", { text: d.doc_id })])]),
        h("td", { text: d.kind }),
        h("td", { text: d.level ? "Lv" + d.level : "—" }),
        h("td", { text: d.lang }),
        h("td", { text: d.chunk_count }),
        h("td", { text: S["kb_source_" + d.source] || d.source }),
        h("td", { text: when(d.updated_at) }),
      ]));
    }
    $("kb-count").textContent = "(" + body.documents.length + ")";
    $("kb-empty").hidden = body.documents.length > 0;
    const modules = filters.elements.module;
    const chosen = modules.value;
    modules.replaceChildren(modules.options[0]);
    for (const m of body.modules) modules.append(h("option", { value: m, text: m }));
    modules.value = body.modules.includes(chosen) ? chosen : "";
  }
  let searchTimer = null;
  filters.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => loadDocuments().catch(fail), 300);
  });
  filters.addEventListener("submit", (e) => { e.preventDefault(); loadDocuments().catch(fail); });

  // --- one document ---------------------------------------------------------------------
  const panel = $("kb-doc");
  const form = $("kb-meta");
  const docError = $("kb-doc-error");
  const docOk = $("kb-doc-ok");
  function ok(text) { docOk.hidden = false; docOk.textContent = text; }

  async function openDocument(docId) {
    clear(docError); docOk.hidden = true;
    $("kb-reload").hidden = true;
    const body = await (await api("/api/kb/documents/" + docPath(docId) + "/chunks")).json();
    show(body.document);
    const list = $("kb-chunks");
    list.replaceChildren();
    for (const c of body.chunks) {
      list.append(h("li", { "data-testid": "kb-chunk" }, [
        h("div", { class: "muted small" }, [
          (c.context_header || "") + " · " + S.kb_lines + " " + c.line_start + "–" + c.line_end,
        ]),
        h("pre", { class: "kb-chunk-text", text: c.text }),
      ]));
    }
    $("kb-chunk-count").textContent = "(" + body.chunks.length + ")";
    panel.hidden = false;
    panel.scrollIntoView({ block: "start" });
  }

  function show(d) {
    current = d;
    panel.dataset.docId = d.doc_id;
    panel.dataset.version = d.version;
    $("kb-doc-title").textContent = d.title;
    $("kb-doc-id").textContent = d.doc_id;
    $("kb-doc-badges").replaceChildren(
      h("span", { class: "tag", text: d.kind }),
      d.hidden ? h("span", { class: "tag kb-hidden", text: S.kb_hidden_badge }) : "",
      h("span", { class: "muted", text: " " + (S["kb_source_" + d.source] || d.source) }),
    );
    form.elements.title.value = d.title;
    form.elements.kind.value = d.kind;
    form.elements.level.value = d.level ? String(d.level) : "";
    form.elements.lang.value = d.lang;
    form.elements.module.value = d.module || "";
    form.elements.skills.value = d.skills.join(", ");
    form.elements.prerequisites.value = d.prerequisites.join(", ");
    form.elements.hidden.checked = d.hidden;
    $("kb-hide").textContent = d.hidden ? S.kb_unhide : S.kb_hide;
  }

  const tags = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);

  async function change(path, options, doneText) {
    clear(docError); docOk.hidden = true;
    try {
      const response = await api(path, options);
      const body = await response.json();
      if (body.doc_id && body.version) show(body);
      ok(doneText);
      await refresh();
      return body;
    } catch (err) {
      if (err.status === 409) {
        fail({ message: S.kb_conflict + " (" + err.message + ")" }, docError);
        $("kb-reload").hidden = false;
      } else {
        fail(err, docError);
      }
      return null;
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const f = form.elements;
    const wanted = {
      title: f.title.value,
      kind: f.kind.value,
      level: f.level.value ? parseInt(f.level.value, 10) : null,
      lang: f.lang.value,
      module: f.module.value || null,
      skills: tags(f.skills.value),
      prerequisites: tags(f.prerequisites.value),
      hidden: f.hidden.checked,
    };
    // Only what changed becomes an override: the rest keeps following the file.
    const json = { version: current.version };
    for (const [key, value] of Object.entries(wanted)) {
      if (JSON.stringify(value) !== JSON.stringify(current[key] === undefined ? null : current[key])) {
        json[key] = value;
      }
    }
    change("/api/kb/documents/" + docPath(current.doc_id), { method: "PATCH", json }, S.kb_saved);
  });
  $("kb-hide").addEventListener("click", () => {
    const action = current.hidden ? "unhide" : "hide";
    change("/api/kb/documents/" + docPath(current.doc_id) + "/" + action,
      { method: "POST", json: { version: current.version } }, S.kb_saved);
  });
  $("kb-solution").addEventListener("click", () => {
    change("/api/kb/documents/" + docPath(current.doc_id) + "/solution",
      { method: "POST", json: { version: current.version } }, S.kb_saved);
  });
  $("kb-delete").addEventListener("click", async () => {
    if (!window.confirm(fmt("kb_delete_confirm", { doc: current.doc_id }))) return;
    const path = "/api/kb/documents/" + docPath(current.doc_id) + "?version=" + encodeURIComponent(current.version);
    const body = await change(path, { method: "DELETE" }, S.kb_deleted);
    if (body && body.file_remains) ok(S.kb_deleted + " " + S.kb_file_remains);
  });
  $("kb-reload").addEventListener("click", () => openDocument(current.doc_id).catch((err) => fail(err, docError)));
  $("kb-doc-close").addEventListener("click", () => { panel.hidden = true; current = null; });

  // --- versions and the change log -------------------------------------------------------
  async function loadVersions() {
    const body = await (await api("/api/kb/versions?" + q)).json();
    const rows = $("kb-version-rows");
    rows.replaceChildren();
    if (!body.versions.length) {
      rows.append(h("tr", {}, [h("td", { colspan: "5", class: "muted", text: S.kb_no_versions })]));
    }
    for (const v of body.versions) {
      const restore = h("button", {
        type: "button", class: "secondary", "data-testid": "kb-restore", text: S.kb_restore,
        disabled: v.size_bytes ? null : true,
        onclick: async () => {
          try {
            const d = await (await api("/api/kb/versions/" + v.id + "/restore", { method: "POST" })).json();
            await refresh();
            await openDocument(d.doc_id);
            ok(S.kb_restored);
          } catch (err) { fail(err); }
        },
      });
      rows.append(h("tr", { "data-testid": "kb-version-row", "data-doc-id": v.doc_id, "data-reason": v.reason }, [
        h("td", { text: when(v.created_at) }),
        h("td", {}, [v.title || "", h("div", { class: "muted small" }, [h("code", { text: v.doc_id })])]),
        h("td", { text: S["kb_reason_" + v.reason] || v.reason }),
        h("td", { text: v.actor }),
        h("td", {}, [restore]),
      ]));
    }
  }

  function details(d) {
    const parts = [];
    if (d.changes) for (const [k, [a, b]] of Object.entries(d.changes)) parts.push(k + ": " + JSON.stringify(a) + " → " + JSON.stringify(b));
    if (d.reason) parts.push(d.reason);
    if (d.name) parts.push(d.name);
    if (d.chunks !== undefined) parts.push(d.chunks + " " + S.kb_col_chunks);
    for (const key of ["added", "updated", "removed"]) if (d[key]) parts.push(key + ": " + d[key].length);
    return parts.join(" · ");
  }

  async function loadAudit() {
    const body = await (await api("/api/kb/audit?limit=100&" + q)).json();
    const rows = $("kb-audit-rows");
    rows.replaceChildren();
    for (const a of body.entries) {
      rows.append(h("tr", { "data-testid": "kb-audit-row", "data-action": a.action }, [
        h("td", { text: when(a.at) }),
        h("td", { text: a.actor }),
        h("td", { text: S["kb_action_" + a.action] || a.action }),
        h("td", {}, [a.doc_id ? h("code", { text: a.doc_id }) : "—"]),
        h("td", { class: "small", text: details(a.details) }),
      ]));
    }
  }

  // --- re-sync and kb check -------------------------------------------------------------
  const toolResult = $("kb-tool-result");
  $("kb-resync").addEventListener("click", async (e) => {
    const button = e.currentTarget;
    button.disabled = true;
    try {
      let job = await (await api("/api/kb/resync?" + q, { method: "POST" })).json();
      while (job.status === "queued" || job.status === "running") {
        toolResult.textContent = S.kb_resyncing + (job.total ? " " + job.done + "/" + job.total : "");
        await sleep(500);
        job = await (await api("/api/kb/jobs/" + job.id)).json();
      }
      if (job.status === "failed") throw new Error(job.error);
      const r = job.report;
      toolResult.textContent = fmt("kb_resync_done", {
        added: r.added.length, updated: r.updated.length, removed: r.removed.length, failed: r.failed.length,
      });
      await refresh();
    } catch (err) { fail(err); toolResult.textContent = ""; }
    button.disabled = false;
  });

  function showCheck(r) {
    if (r.consistent) {
      toolResult.textContent = fmt("kb_check_ok", { docs: r.documents, chunks: r.chunks });
      $("kb-repair").hidden = true;
    } else {
      toolResult.textContent = fmt("kb_check_problems", { n: r.problems.length }) + ": " +
        r.problems.map((p) => p.kind + " (" + p.detail + ")").join("; ");
      $("kb-repair").hidden = false;
    }
  }
  $("kb-check").addEventListener("click", async () => {
    try { showCheck(await (await api("/api/kb/check?" + q)).json()); } catch (err) { fail(err); }
  });
  $("kb-repair").addEventListener("click", async () => {
    try { showCheck(await (await api("/api/kb/repair?" + q, { method: "POST" })).json()); await refresh(); } catch (err) { fail(err); }
  });

  async function refresh() {
    try {
      await Promise.all([loadDocuments(), loadVersions(), loadAudit()]);
    } catch (err) { fail(err); }
  }
  refresh();
})();
