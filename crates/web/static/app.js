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
