/* Every console page: the course picker submits its form when changed (no inline handler:
 * the pages' Content-Security-Policy allows scripts from /static only). */
"use strict";
document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
