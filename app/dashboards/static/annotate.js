// The annotate view from the keyboard. The score controls are a plain form; this adds: digits 1-9 pick
// the n-th option of the highlighted score and move on to the next score (after the last, to "Save and
// next"), Enter saves and opens the next item, S skips it. While typing in a field (a number, a text, the
// comment) keys type; Enter in a field saves too, except in the comment.
(function () {
  var form = document.getElementById("annotate-form");
  if (!form) return;
  var controls = Array.prototype.slice.call(form.querySelectorAll(".annotation-control"));
  var save = document.getElementById("save");
  var skip = document.getElementById("skip");
  var active = 0;

  function mark() {
    controls.forEach(function (c, i) {
      c.classList.toggle("active", i === active);
    });
  }

  function entry(control) {
    return control.querySelector("input:checked") || control.querySelector("input, textarea, select");
  }

  function activate(i) {
    active = i;
    mark();
    var target = i < controls.length ? entry(controls[i]) : save;
    if (target) target.focus();
  }

  function typing(el) {
    if (!el || !el.tagName) return false;
    if (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
    if (el.tagName !== "INPUT") return false;
    return ["radio", "checkbox", "button", "submit", "reset"].indexOf(el.type) < 0;
  }

  function submit(button) {
    if (!button) return;
    if (form.requestSubmit) form.requestSubmit(button);
    else button.click();
  }

  controls.forEach(function (c, i) {
    c.addEventListener("focusin", function () {
      active = i;
      mark();
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented || event.isComposing) return;
    var el = document.activeElement;
    if (event.key === "Enter") {
      // Buttons, links and the tree keep their own Enter; the comment takes new lines.
      if (el && /^(TEXTAREA|BUTTON|A|SUMMARY|SELECT)$/.test(el.tagName)) return;
      if (el && el.form && el.form !== form) return;
      event.preventDefault();
      submit(save);
      return;
    }
    if (typing(el)) return;
    if (event.key === "s" || event.key === "S") {
      event.preventDefault();
      submit(skip);
      return;
    }
    if (/^[1-9]$/.test(event.key) && active < controls.length) {
      var options = controls[active].querySelectorAll("input[type=radio]");
      if (!options.length) {
        // A number or text score: the digit goes into its field.
        var field = entry(controls[active]);
        if (field) field.focus();
        return;
      }
      var n = Number(event.key) - 1;
      if (n >= options.length) return;
      event.preventDefault();
      options[n].checked = true;
      activate(active + 1);
    }
  });

  // The address names the item shown, so reloading (or sharing) shows this item, not the one after it.
  var params = new URLSearchParams(window.location.search);
  if (!params.has("item") && form.dataset.itemUrl && window.history.replaceState) {
    window.history.replaceState(null, "", form.dataset.itemUrl);
  }
  // Opening an observation in the tree keeps focus there (tree.js); otherwise start at the first score.
  if (params.has("obs")) mark();
  else activate(0);
})();
