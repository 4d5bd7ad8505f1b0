// The dashboard's only script: copy a link or key to the clipboard (saying so in the page's language, from the
// body's data-copied), and ask before what cannot be undone. Everything
// else works without JavaScript.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  navigator.clipboard.writeText(button.dataset.copy).then(() => {
    button.textContent = document.body.dataset.copied || "Copied";
  });
});

// Ask before what cannot be undone (forms marked data-confirm: revoking a link or a token, deleting a webhook,
// changing a user's roles). Without JavaScript the form submits as it is.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

// The console's key file import (forms marked data-key-chunks): the file is read here and posted in chunks of
// 1,000 lines, with a progress bar; each chunk is added all or none, and a refused one stops the import with its
// message (the chunks before it stay added). Without JavaScript the form posts the whole file at once.
document.addEventListener("submit", async (event) => {
  const form = event.target.closest("form[data-key-chunks]");
  if (!form) return;
  const file = form.querySelector("input[type=file]").files[0];
  if (!file || !window.fetch) return;
  event.preventDefault();
  const lines = (await file.text()).split(/\r?\n/).filter((l) => l.trim() !== "");
  const progress = form.querySelector("progress");
  const problem = form.querySelector("[role=alert]");
  const button = form.querySelector("button[type=submit]");
  const sku = encodeURIComponent(form.querySelector("select[name=sku]").value);
  progress.closest("label").hidden = false;
  problem.hidden = true;
  button.disabled = true;
  progress.max = lines.length;
  let added = 0;
  for (let i = 0; i < lines.length; i += 1000) {
    const res = await fetch(`${form.dataset.keyChunks}&sku=${sku}`, {
      method: "POST",
      headers: { "Content-Type": "text/plain; charset=utf-8" },
      body: lines.slice(i, i + 1000).join("\n"),
    }).catch(() => null);
    const answer = res ? await res.json().catch(() => ({})) : {};
    if (!res || !res.ok) {
      problem.textContent = answer.message || (res ? res.statusText : form.dataset.networkError);
      problem.hidden = false;
      button.disabled = false;
      return;
    }
    added += answer.added;
    progress.value = Math.min(i + 1000, lines.length);
  }
  window.location.assign(`${form.dataset.done}?added=${added}`);
});

// The console's file upload (forms marked data-upload-progress): the same multipart form, posted by XHR so that the
// upload's progress shows; the server streams the file to storage as it arrives. Its answer is JSON: where to go
// next, or the message of a refusal. Without JavaScript the form posts as usual.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-upload-progress]");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  event.preventDefault();
  const progress = form.querySelector("progress");
  const problem = form.querySelector("[role=alert]");
  const button = form.querySelector("button[type=submit]");
  const xhr = new XMLHttpRequest();
  const fail = (message) => {
    problem.textContent = message;
    problem.hidden = false;
    button.disabled = false;
  };
  xhr.open("POST", form.action);
  xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
  xhr.responseType = "json";
  xhr.upload.addEventListener("progress", (e) => {
    if (!e.lengthComputable) return;
    progress.max = e.total;
    progress.value = e.loaded;
  });
  xhr.addEventListener("load", () => {
    const answer = xhr.response || {};
    if (xhr.status >= 200 && xhr.status < 300 && answer.next) window.location.assign(answer.next);
    else fail(answer.message || xhr.statusText);
  });
  xhr.addEventListener("error", () => fail(form.dataset.networkError));
  progress.closest("label").hidden = false;
  problem.hidden = true;
  button.disabled = true;
  xhr.send(new FormData(form));
});
