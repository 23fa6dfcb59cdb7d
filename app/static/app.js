/* Ordna: the little behaviour the pages need, hand-written, no libraries.
 *
 * - Rows (actions, article rows, service objects, contact persons) are added and removed in
 *   the browser by cloning <template id="tpl-NAME"> into [data-rows="NAME"]; the whole form is
 *   saved together, so adding a row never reloads the page or loses what was typed. Without
 *   JavaScript the "add" buttons submit op=add:NAME and the server adds an empty row instead.
 * - The article field suggests articles by number or name (GET data-suggest-url?q=…) and fills
 *   unit, price and quantity from the one picked.
 * - Changing the order's customer refreshes the facility, contact and machine choices.
 * - On a signed order, saving changed work asks first: it clears the signature.
 * - The signing panel's canvas takes the customer's signature with a finger, a pen or a mouse
 *   (pointer events) and keeps the hidden `signature` field up to date as a PNG data URL.
 */
(function () {
  "use strict";

  var lang = document.documentElement.lang || "sv";
  var comma = lang.indexOf("sv") === 0;

  function parseNumber(text) {
    var value = parseFloat(String(text || "").replace(/\s/g, "").replace(",", "."));
    return isNaN(value) ? null : value;
  }

  function formatNumber(value, places) {
    var text = places === undefined ? String(value) : Number(value).toFixed(places);
    return comma ? text.replace(".", ",") : text;
  }

  // --- dirty tracking: warn before leaving a form with unsaved changes --------------------

  var dirtyForms = new Set();
  var submitting = false;

  function markDirty(element) {
    var form = element && element.closest("form");
    if (form && form.hasAttribute("data-order-form")) dirtyForms.add(form);
    if (form && form.hasAttribute("data-rows-form")) dirtyForms.add(form);
  }

  document.addEventListener("input", function (event) { markDirty(event.target); });
  document.addEventListener("change", function (event) { markDirty(event.target); });
  window.addEventListener("beforeunload", function (event) {
    if (dirtyForms.size && !submitting) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // --- rows -------------------------------------------------------------------------------

  function addRow(name) {
    var container = document.querySelector('[data-rows="' + name + '"]');
    var template = document.getElementById("tpl-" + name);
    if (!container || !template) return null;
    var index = parseInt(container.getAttribute("data-next") || "0", 10);
    container.setAttribute("data-next", String(index + 1));
    var holder = document.createElement("div");
    holder.innerHTML = template.innerHTML.split("__i__").join(String(index)).trim();
    var row = holder.firstElementChild;
    container.appendChild(row);
    markDirty(container);
    var focus = row.querySelector("[data-article]") || row.querySelector("textarea") ||
      row.querySelector("input:not([type=hidden]), select");
    if (focus) focus.focus({ preventScroll: true });
    row.scrollIntoView({ block: "center", behavior: "smooth" });
    return row;
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add]");
    if (add) {
      event.preventDefault();
      addRow(add.getAttribute("data-add"));
      return;
    }
    var remove = event.target.closest("[data-remove-row]");
    if (remove) {
      event.preventDefault();
      var row = remove.closest("[data-row]");
      var container = row.parentElement;
      row.remove();
      markDirty(container);
      updateTotal();
    }
  });

  // --- the article row total ------------------------------------------------------------------

  function updateTotal() {
    var target = document.querySelector("[data-total]");
    if (!target) return;
    var sum = 0;
    document.querySelectorAll('[data-rows="article_rows"] [data-row]').forEach(function (row) {
      var qty = parseNumber((row.querySelector("[data-qty]") || {}).value);
      var price = parseNumber((row.querySelector("[data-price]") || {}).value);
      if (qty !== null && price !== null) sum += qty * price;
    });
    target.textContent = sum.toLocaleString(comma ? "sv-SE" : "en-GB",
      { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches("[data-qty], [data-price]")) updateTotal();
  });

  // --- article suggestions ----------------------------------------------------------------------

  var suggest = { input: null, items: [], active: -1, timer: 0, seq: 0 };

  function listFor(input) {
    return input.closest(".field").querySelector(".suggestions");
  }

  function closeSuggestions() {
    if (!suggest.input) return;
    var list = listFor(suggest.input);
    list.hidden = true;
    list.textContent = "";
    suggest.input.setAttribute("aria-expanded", "false");
    suggest.input.removeAttribute("aria-activedescendant");
    suggest.input = null;
    suggest.items = [];
    suggest.active = -1;
  }

  function showSuggestions(input, items) {
    closeSuggestions();
    if (!items.length || document.activeElement !== input) return;
    var list = listFor(input);
    items.forEach(function (item, i) {
      var li = document.createElement("li");
      li.id = list.id + "-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("data-index", String(i));
      var number = document.createElement("strong");
      number.textContent = item.number;
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = item.name;
      var price = document.createElement("span");
      price.className = "price";
      price.textContent = formatNumber(item.price, 2) + (item.unit ? " / " + item.unit : "");
      li.append(number, name, price);
      list.appendChild(li);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    suggest.input = input;
    suggest.items = items;
  }

  function highlight(index) {
    var list = listFor(suggest.input);
    suggest.active = index;
    list.querySelectorAll("li").forEach(function (li, i) {
      li.setAttribute("aria-selected", i === index ? "true" : "false");
      if (i === index) {
        suggest.input.setAttribute("aria-activedescendant", li.id);
        li.scrollIntoView({ block: "nearest" });
      }
    });
  }

  function pick(input, item) {
    var row = input.closest("[data-row]");
    input.value = item.number;
    var unit = row.querySelector("[data-unit]");
    var price = row.querySelector("[data-price]");
    var qty = row.querySelector("[data-qty]");
    if (unit) unit.value = item.unit;
    if (price) price.value = formatNumber(item.price, 2);
    if (qty && !qty.value) qty.value = "1";
    var field = input.closest(".field");
    var hint = field.querySelector(".hint");
    if (!hint) {
      hint = document.createElement("p");
      hint.className = "hint";
      field.appendChild(hint);
    }
    hint.textContent = item.name;
    var description = row.querySelector('[name$="-description"]');
    if (description) description.placeholder = item.name;
    closeSuggestions();
    markDirty(input);
    updateTotal();
    if (qty) { qty.focus(); qty.select(); }
  }

  function fetchSuggestions(input) {
    var form = input.closest("[data-suggest-url]");
    var term = input.value.trim();
    if (!form || term.length < 2) { closeSuggestions(); return; }
    var seq = ++suggest.seq;
    fetch(form.getAttribute("data-suggest-url") + "?q=" + encodeURIComponent(term), {
      headers: { Accept: "application/json" }, credentials: "same-origin"
    }).then(function (response) {
      return response.ok ? response.json() : { items: [] };
    }).then(function (data) {
      if (seq === suggest.seq) showSuggestions(input, data.items || []);
    }).catch(function () { /* offline: the number typed is still checked on save */ });
  }

  document.addEventListener("input", function (event) {
    if (!event.target.matches("[data-article]")) return;
    clearTimeout(suggest.timer);
    var input = event.target;
    suggest.timer = setTimeout(function () { fetchSuggestions(input); }, 150);
  });

  document.addEventListener("keydown", function (event) {
    if (!event.target.matches("[data-article]")) return;
    var open = suggest.input === event.target && suggest.items.length;
    if (event.key === "ArrowDown" && open) {
      event.preventDefault();
      highlight(Math.min(suggest.active + 1, suggest.items.length - 1));
    } else if (event.key === "ArrowUp" && open) {
      event.preventDefault();
      highlight(Math.max(suggest.active - 1, 0));
    } else if (event.key === "Enter" && open) {
      // Enter picks a suggestion; it must not submit the whole order.
      event.preventDefault();
      pick(event.target, suggest.items[Math.max(suggest.active, 0)]);
    } else if (event.key === "Escape" && open) {
      closeSuggestions();
    }
  });

  // pointerdown, not click: picking must happen before the input loses focus.
  document.addEventListener("pointerdown", function (event) {
    var li = event.target.closest(".suggestions li");
    if (li && suggest.input) {
      event.preventDefault();
      pick(suggest.input, suggest.items[parseInt(li.getAttribute("data-index"), 10)]);
    }
  });

  document.addEventListener("focusout", function (event) {
    if (event.target === suggest.input) setTimeout(function () {
      if (suggest.input && document.activeElement !== suggest.input) closeSuggestions();
    }, 150);
  });

  // --- a new customer on the order: its facilities, contacts and machines ---------------------

  function fillSelect(select, items) {
    var previous = select.value;
    var keep = select.options.length && select.options[0].value === "" ? select.options[0] : null;
    select.textContent = "";
    if (keep) select.appendChild(keep);
    items.forEach(function (item) {
      var option = new Option(item.name, String(item.id));
      option.selected = String(item.id) === previous;
      select.appendChild(option);
    });
  }

  document.addEventListener("change", function (event) {
    if (!event.target.matches("[data-customer-select]")) return;
    var form = event.target.closest("[data-options-url]");
    var url = form.getAttribute("data-options-url").replace("/0/", "/" + event.target.value + "/");
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        form.querySelectorAll("[data-facility-select]").forEach(function (s) { fillSelect(s, data.facilities); });
        form.querySelectorAll("[data-contact-select]").forEach(function (s) { fillSelect(s, data.contacts); });
        var machines = 'select[name$="-service_object_id"]';
        form.querySelectorAll(machines).forEach(function (s) { fillSelect(s, data.service_objects); });
        document.querySelectorAll("template").forEach(function (t) {
          t.content.querySelectorAll(machines).forEach(function (s) { fillSelect(s, data.service_objects); });
        });
      });
  });

  // --- the signature pad ------------------------------------------------------------------------
  //
  // Strokes are kept as points relative to the pad (0..1 each way), so the drawing survives a
  // resize or a turned phone. After every stroke the drawing is exported at a fixed size
  // (EXPORT_WIDTH × EXPORT_HEIGHT, transparent background) into the hidden `signature` field;
  // "Rensa" empties both. A form shown again after an error brings its drawing back.

  var EXPORT_WIDTH = 800;
  var EXPORT_HEIGHT = 400;  // the pad's CSS aspect-ratio is the same 2 / 1
  var INK_WIDTH = 2.6;      // CSS pixels on the pad

  function setUpSignaturePad(pad) {
    var canvas = pad.querySelector("[data-signature-canvas]");
    var form = pad.closest("form");
    var input = form && form.querySelector('input[name="signature"]');
    if (!canvas || !input || !canvas.getContext) return;
    var context = canvas.getContext("2d");
    var strokes = [];
    var current = null;
    var background = null;  // the drawing restored from the field

    function padWidth() { return canvas.getBoundingClientRect().width || 1; }

    function paint(target, width, height, lineWidth) {
      target.lineCap = "round";
      target.lineJoin = "round";
      target.strokeStyle = "#111";
      target.fillStyle = "#111";
      target.lineWidth = lineWidth;
      strokes.forEach(function (stroke) {
        if (stroke.length === 1) {  // a dot
          target.beginPath();
          target.arc(stroke[0][0] * width, stroke[0][1] * height, lineWidth / 2, 0, 2 * Math.PI);
          target.fill();
          return;
        }
        target.beginPath();
        stroke.forEach(function (p, i) {
          if (i === 0) target.moveTo(p[0] * width, p[1] * height);
          else target.lineTo(p[0] * width, p[1] * height);
        });
        target.stroke();
      });
    }

    function redraw() {
      context.clearRect(0, 0, canvas.width, canvas.height);
      if (background) context.drawImage(background, 0, 0, canvas.width, canvas.height);
      paint(context, canvas.width, canvas.height, INK_WIDTH * canvas.width / padWidth());
    }

    function fit() {
      var rect = canvas.getBoundingClientRect();
      var ratio = window.devicePixelRatio || 1;
      canvas.width = Math.max(1, Math.round(rect.width * ratio));
      canvas.height = Math.max(1, Math.round(rect.height * ratio));
      redraw();
    }

    function hasInk() { return strokes.length > 0 || background !== null; }

    function store() {
      pad.classList.toggle("has-ink", hasInk());
      if (!hasInk()) { input.value = ""; return; }
      var out = document.createElement("canvas");
      out.width = EXPORT_WIDTH;
      out.height = EXPORT_HEIGHT;
      var target = out.getContext("2d");
      if (background) target.drawImage(background, 0, 0, EXPORT_WIDTH, EXPORT_HEIGHT);
      paint(target, EXPORT_WIDTH, EXPORT_HEIGHT, INK_WIDTH * EXPORT_WIDTH / padWidth());
      input.value = out.toDataURL("image/png");
    }

    function point(event) {
      var rect = canvas.getBoundingClientRect();
      return [
        Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width)),
        Math.min(1, Math.max(0, (event.clientY - rect.top) / rect.height))
      ];
    }

    canvas.addEventListener("pointerdown", function (event) {
      if (event.pointerType === "mouse" && event.button !== 0) return;
      event.preventDefault();
      if (canvas.setPointerCapture) canvas.setPointerCapture(event.pointerId);
      current = { id: event.pointerId, points: [point(event)] };
      strokes.push(current.points);
      pad.classList.add("has-ink");
      redraw();
    });

    canvas.addEventListener("pointermove", function (event) {
      if (!current || event.pointerId !== current.id) return;
      event.preventDefault();
      var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      (events.length ? events : [event]).forEach(function (e) { current.points.push(point(e)); });
      redraw();
    });

    function finish(event) {
      if (!current || event.pointerId !== current.id) return;
      current = null;
      store();
      markDirty(canvas);
    }
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);
    canvas.addEventListener("lostpointercapture", finish);

    pad.parentElement.querySelector("[data-signature-clear]").addEventListener("click", function () {
      strokes = [];
      background = null;
      current = null;
      store();
      redraw();
      markDirty(canvas);
    });

    window.addEventListener("resize", fit);
    fit();

    if (input.value.indexOf("data:image/png;base64,") === 0) {
      var image = new Image();
      image.onload = function () { background = image; pad.classList.add("has-ink"); redraw(); };
      image.onerror = function () { input.value = ""; };
      image.src = input.value;
    } else {
      input.value = "";
    }
  }

  // --- confirmations -------------------------------------------------------------------------

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var op = submitter && submitter.name === "op" ? submitter.value : "save";
    var question = (submitter && submitter.getAttribute("data-confirm")) ||
      form.getAttribute("data-confirm-submit");
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    var unsign = form.querySelector("[data-confirm-unsign]");
    if (form.getAttribute("data-signed") === "1" && unsign && dirtyForms.has(form) &&
        op !== "sign" && op.indexOf("add:") !== 0) {
      // A signature never covers work it did not see (docs/decisions.md).
      if (!window.confirm(form.getAttribute("data-unsign-question"))) { event.preventDefault(); return; }
      unsign.value = "y";
    }
    submitting = true;
  });

  // --- page set-up ---------------------------------------------------------------------------

  // "Signera" opens the signing panel; a panel shown again with an error stays open.
  function setUpSignPanel(panel) {
    var opener = panel.parentElement.querySelector("[data-sign-open]");
    if (!opener || panel.hasAttribute("data-open")) return;
    panel.hidden = true;
    opener.hidden = false;
    opener.addEventListener("click", function () {
      panel.hidden = false;
      opener.hidden = true;
      window.dispatchEvent(new Event("resize"));  // the canvas measures itself when shown
      var name = panel.querySelector("input[type=text], input:not([type])");
      if (name) name.focus();
      panel.scrollIntoView({ block: "start", behavior: "smooth" });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-signature-pad]").forEach(setUpSignaturePad);
    document.querySelectorAll("[data-sign-panel]").forEach(setUpSignPanel);
    // A form shown again after a validation error holds work that is not saved yet.
    document.querySelectorAll("form[data-unsaved]").forEach(function (form) { dirtyForms.add(form); });
    // A protocol that could not be sent: its message and "Försök igen" are far down the page.
    var mailError = document.getElementById("mail-error");
    if (mailError) mailError.scrollIntoView({ block: "center" });
    // Show the first field with an error (the banner above says what to do).
    var error = document.querySelector(".has-error");
    if (error && !document.querySelector("[data-new-token]")) error.scrollIntoView({ block: "center" });
    // A new order: the delivery date belongs to sales orders only.
    var kind = document.querySelector("[data-kind-select]");
    if (kind) {
      var toggle = function () {
        document.querySelectorAll(".only-sales").forEach(function (el) { el.hidden = kind.value !== "sales"; });
      };
      kind.addEventListener("change", toggle);
      toggle();
    }
  });
})();
