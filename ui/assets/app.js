// The chat page's own script (inlined by ui/chat.py; nothing is fetched from elsewhere).
// 1. [n] markers in an answer become links to source n of that turn in the sources panel.
// 2. A click on a link opens that turn's sources, scrolls to the card and highlights it.
// 3. 查看原文 opens the whole document (server-escaped HTML) scrolled to the passage.
// 4. Enter pressed while an input method is composing never sends the question.
(function () {
  if (window.__ragInit) return;
  window.__ragInit = true;

  var MARK = /[\[［【]\s*([0-9０-９]+(?:\s*[,，、]\s*[0-9０-９]+)*)\s*[\]］】]/g;
  function ascii(s) {
    return s.replace(/[０-９]/g, function (d) { return String.fromCharCode(d.charCodeAt(0) - 0xfee0); });
  }
  function card(turn, n) { return document.getElementById("rag-src-" + turn + "-" + n); }
  function link(turn, n, text) {
    var a = document.createElement("a");
    a.className = "rag-cite";
    a.href = "#rag-src-" + turn + "-" + n;
    a.dataset.turn = String(turn);
    a.dataset.n = n;
    a.textContent = text;
    a.title = "查看来源 " + n;
    return a;
  }

  function linkifyNode(node, turn) {
    var text = node.nodeValue, last = 0, changed = false;
    var frag = document.createDocumentFragment();
    text.replace(MARK, function (m, body, off) {
      var nums = ascii(body).split(/\s*[,，、]\s*/);
      if (!nums.some(function (n) { return card(turn, n); })) return m;
      changed = true;
      frag.append(text.slice(last, off));
      if (nums.length === 1) {
        frag.append(link(turn, nums[0], "[" + nums[0] + "]"));
      } else {
        frag.append("[");
        nums.forEach(function (n, i) {
          if (i) frag.append(",");
          frag.append(card(turn, n) ? link(turn, n, n) : n);
        });
        frag.append("]");
      }
      last = off + m.length;
      return m;
    });
    if (!changed) return;
    frag.append(text.slice(last));
    node.replaceWith(frag);
  }

  function linkify() {
    var bots = document.querySelectorAll('#rag-chat [data-testid="bot"]');
    bots.forEach(function (bot, turn) {
      var root = bot.querySelector(".message-content") || bot;
      var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      var nodes = [];
      while (walker.nextNode()) {
        var n = walker.currentNode;
        MARK.lastIndex = 0;
        if (!n.parentElement.closest(".rag-cite") && MARK.test(n.nodeValue)) nodes.push(n);
      }
      MARK.lastIndex = 0;
      nodes.forEach(function (n) { linkifyNode(n, turn); });
    });
  }

  var pending = false;
  new MutationObserver(function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; linkify(); });
  }).observe(document.documentElement, { childList: true, subtree: true, characterData: true });

  function showSource(turn, n) {
    var c = card(turn, n);
    if (!c) return;
    var det = c.closest("details");
    if (det) det.open = true;
    document.querySelectorAll(".rag-src.rag-active").forEach(function (x) { x.classList.remove("rag-active"); });
    c.classList.add("rag-active");
    c.scrollIntoView({ behavior: "smooth", block: "center" });
  }

  function modal() {
    var m = document.getElementById("rag-doc-modal");
    if (m) return m;
    m = document.createElement("div");
    m.id = "rag-doc-modal";
    m.className = "rag-modal";
    m.hidden = true;
    m.innerHTML = '<div class="rag-modal-box" role="dialog" aria-label="原文"><button type="button" class="rag-modal-close" aria-label="关闭">×</button><div class="rag-modal-body"></div></div>';
    document.body.appendChild(m);
    return m;
  }
  function closeDoc() { var m = document.getElementById("rag-doc-modal"); if (m) m.hidden = true; }

  function openDoc(id) {
    var m = modal(), body = m.querySelector(".rag-modal-body");
    body.textContent = "正在打开原文…";
    m.hidden = false;
    fetch("rag/passage/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (d) {
        body.innerHTML = d.html; // escaped on the server: document text is data
        var hit = body.querySelector("#rag-doc-hit");
        if (hit) hit.scrollIntoView({ block: "center" });
      })
      .catch(function (e) { body.textContent = "原文打不开（" + e.message + "）。"; });
  }

  document.addEventListener("click", function (e) {
    var t = e.target;
    if (!(t instanceof Element)) return;
    var a = t.closest("a.rag-cite");
    if (a) { e.preventDefault(); e.stopPropagation(); showSource(a.dataset.turn, a.dataset.n); return; }
    var b = t.closest("button.rag-open");
    if (b) { e.preventDefault(); openDoc(b.dataset.passage); return; }
    if (t.closest(".rag-modal-close") || t.id === "rag-doc-modal") closeDoc();
  }, true);
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") closeDoc(); });

  // An input method commits its text with Enter: that Enter must not send the question.
  var composing = false, composeEnd = 0;
  window.addEventListener("compositionstart", function () { composing = true; }, true);
  window.addEventListener("compositionend", function () { composing = false; composeEnd = Date.now(); }, true);
  function guard(e) {
    if (e.key !== "Enter" && e.keyCode !== 229) return;
    var t = e.target;
    if (!(t instanceof Element) || !t.closest("#rag-input")) return;
    if (e.isComposing || composing || e.keyCode === 229 || Date.now() - composeEnd < 60) {
      e.stopImmediatePropagation();
    }
  }
  window.addEventListener("keydown", guard, true);
  window.addEventListener("keypress", guard, true);
})();
