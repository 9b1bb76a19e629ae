// Prompt editors (the playground and the prompt version form): chat message rows added from
// <template id="tpl-message|tpl-placeholder"> and removed, and the chat/text switch.
(function () {
  'use strict';
  var form = document.querySelector('form[data-prompt-editor]');
  if (!form) return;
  var rows = document.getElementById('messages');

  function changed() { document.body.dispatchEvent(new Event('pg-rows')); }

  function addRow(templateId) {
    rows.appendChild(document.getElementById(templateId).content.cloneNode(true));
    changed();
  }
  document.getElementById('add-message').addEventListener('click', function () { addRow('tpl-message'); });
  document.getElementById('add-placeholder').addEventListener('click', function () { addRow('tpl-placeholder'); });
  rows.addEventListener('click', function (e) {
    if (e.target.matches('button.remove')) { e.target.closest('.msg-row').remove(); changed(); }
  });

  function showMode() {
    var mode = form.querySelector('input[name=mode][type=hidden], input[name=mode]:checked');
    var text = mode.value === 'text';
    document.getElementById('chat-editor').hidden = text;
    document.getElementById('text-editor').hidden = !text;
  }
  form.querySelectorAll('input[name=mode]').forEach(function (radio) {
    radio.addEventListener('change', function () { showMode(); changed(); });
  });
  showMode();
})();
