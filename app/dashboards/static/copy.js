// Buttons with data-copy put their value on the clipboard.
document.querySelectorAll("button.copy[data-copy]").forEach(function (b) {
  b.addEventListener("click", function () { if (navigator.clipboard) { navigator.clipboard.writeText(b.dataset.copy); } });
});
