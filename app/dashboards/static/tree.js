// The observation tree (or timeline) from the keyboard: Enter or Space opens a node (a bar), ArrowUp/ArrowDown
// move between them, Home/End go to the first/last. After opening one, focus returns to it.
(function () {
  var links = Array.prototype.slice.call(document.querySelectorAll(".nodes .node > a, .gantt-rows .gantt-row"));
  var keys = { ArrowDown: 1, ArrowUp: -1 };
  links.forEach(function (link, i) {
    link.addEventListener("keydown", function (event) {
      var target = null;
      if (event.key === " ") {
        event.preventDefault();
        link.click();
        return;
      }
      if (event.key in keys) target = links[i + keys[event.key]];
      else if (event.key === "Home") target = links[0];
      else if (event.key === "End") target = links[links.length - 1];
      else return;
      event.preventDefault();
      if (target) target.focus();
    });
  });
  var current = document.querySelector('.nodes .node > a[aria-current="true"], .gantt-row[aria-current="true"]');
  if (current && new URLSearchParams(window.location.search).has("obs")) current.focus();
})();
