/* Ordna: the little behaviour the pages need, hand-written, no libraries.
 *
 * - Rows (actions, article rows, service objects, contact persons) are added and removed in
 *   the browser by cloning <template id="tpl-NAME"> into [data-rows="NAME"]; the whole form is
 *   saved together, so adding a row never reloads the page or loses what was typed. Without
 *   JavaScript the "add" buttons post the form to /orders/ID/rows and the server adds an empty
 *   row instead.
 * - The article field suggests articles by number or name (GET data-suggest-url?q=…) and fills
 *   unit, price and quantity from the one picked.
 * - The customer field searches the register as you type (GET /customers/search?q=…) and
 *   lists the matches to pick from; picking a customer refreshes the facility, contact and
 *   machine choices. There is never a <select> of every customer.
 * - On a signed order, saving changed work asks first: it clears the signature.
 * - The signing panel's canvas takes the customer's signature with a finger, a pen or a mouse
 *   (pointer events) and keeps the hidden `signature` field up to date as a PNG data URL.
 * - While an order is "I kö" or "Skickas" to Fortnox, the order page and the order list ask
 *   for its state every few seconds (for a few minutes at most) and show it when it changes.
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
    var li = event.target.closest(".suggestions:not(.customer-suggestions) li");
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

  // --- the customer field: search as you type ----------------------------------------------
  //
  // [data-customer-field] holds a text input (role=combobox) and the hidden customer_id. Typing
  // asks GET data-customer-search?q=… (name, customer number or city) and lists at most 20
  // matches; a tap, or up/down and Enter, picks one: the hidden id is set, the text shows the
  // customer's label, and on the order pages the facility, contact and machine selects follow.
  // Typing again clears the id until a customer is picked (what is sent without a pick, the
  // server resolves from the text, as it does without JavaScript).

  var customers = { input: null, items: [], active: -1, timer: 0, seq: 0 };

  function customerList(input) {
    return input.closest("[data-customer-field]").querySelector(".suggestions");
  }

  function closeCustomers() {
    if (!customers.input) return;
    var list = customerList(customers.input);
    list.hidden = true;
    list.textContent = "";
    customers.input.setAttribute("aria-expanded", "false");
    customers.input.removeAttribute("aria-activedescendant");
    customers.input = null;
    customers.items = [];
    customers.active = -1;
  }

  function showCustomers(input, items) {
    closeCustomers();
    if (!items.length || document.activeElement !== input) return;
    var list = customerList(input);
    var inactive = input.getAttribute("data-inactive-text") || "";
    items.forEach(function (item, i) {
      var li = document.createElement("li");
      li.id = list.id + "-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.setAttribute("data-index", String(i));
      var name = document.createElement("strong");
      name.textContent = item.name;
      var meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = [item.number, item.city].filter(Boolean).join(" · ") +
        (item.active === false && inactive ? " · " + inactive : "");
      li.append(name, meta);
      list.appendChild(li);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    customers.input = input;
    customers.items = items;
  }

  function highlightCustomer(index) {
    var list = customerList(customers.input);
    customers.active = index;
    list.querySelectorAll("li").forEach(function (li, i) {
      li.setAttribute("aria-selected", i === index ? "true" : "false");
      if (i === index) {
        customers.input.setAttribute("aria-activedescendant", li.id);
        li.scrollIntoView({ block: "nearest" });
      }
    });
  }

  // A customer picked: the hidden id, the label in the text, the selects that follow.
  function setCustomer(input, id, label) {
    var field = input.closest("[data-customer-field]");
    var hidden = field.querySelector("[data-customer-id]");
    var changed = hidden.value !== String(id);
    hidden.value = String(id);
    input.value = label;
    input.setAttribute("data-picked-id", String(id));
    input.setAttribute("data-picked-label", label);
    markDirty(input);
    if (changed) customerChanged(input.closest("form"), id);
  }

  function pickCustomer(input, item) {
    var candidates = input.closest("[data-customer-field]").querySelector("[data-customer-candidates]");
    if (candidates) candidates.remove();
    closeCustomers();
    setCustomer(input, item.id, item.label);
  }

  function fetchCustomers(input) {
    var term = input.value.trim();
    if (!term) { closeCustomers(); return; }
    var url = input.getAttribute("data-customer-search");
    var seq = ++customers.seq;
    fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(term), {
      headers: { Accept: "application/json" }, credentials: "same-origin"
    }).then(function (response) {
      return response.ok ? response.json() : { items: [] };
    }).then(function (data) {
      if (seq === customers.seq) showCustomers(input, data.items || []);
    }).catch(function () { /* offline: the text typed is resolved on save */ });
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches("[data-customer-search]")) return;
    var field = input.closest("[data-customer-field]");
    // The id holds only while the text is the picked customer's label.
    field.querySelector("[data-customer-id]").value =
      input.value === input.getAttribute("data-picked-label") ? input.getAttribute("data-picked-id") : "";
    var candidates = field.querySelector("[data-customer-candidates]");
    if (candidates) candidates.remove();
    clearTimeout(customers.timer);
    customers.timer = setTimeout(function () { fetchCustomers(input); }, 150);
  });

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.matches("[data-customer-search]")) return;
    var open = customers.input === input && customers.items.length;
    if (event.key === "ArrowDown" && !open) {
      event.preventDefault();
      fetchCustomers(input);
    } else if (event.key === "ArrowDown") {
      event.preventDefault();
      highlightCustomer(Math.min(customers.active + 1, customers.items.length - 1));
    } else if (event.key === "ArrowUp" && open) {
      event.preventDefault();
      highlightCustomer(Math.max(customers.active - 1, 0));
    } else if (event.key === "Enter" && open) {
      event.preventDefault();  // Enter picks; it must not submit the form
      pickCustomer(input, customers.items[Math.max(customers.active, 0)]);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      closeCustomers();
    }
  });

  // pointerdown, not click: picking must happen before the input loses focus.
  document.addEventListener("pointerdown", function (event) {
    var li = event.target.closest(".customer-suggestions li");
    if (li && customers.input) {
      event.preventDefault();
      pickCustomer(customers.input, customers.items[parseInt(li.getAttribute("data-index"), 10)]);
    }
  });

  document.addEventListener("focusout", function (event) {
    if (event.target === customers.input) setTimeout(function () {
      if (customers.input && document.activeElement !== customers.input) closeCustomers();
    }, 150);
  });

  // One of the candidates the server offered for an ambiguous text.
  document.addEventListener("change", function (event) {
    var radio = event.target;
    if (!radio.matches('[data-customer-candidates] input[type="radio"]')) return;
    var input = radio.closest("[data-customer-field]").querySelector("[data-customer-search]");
    setCustomer(input, radio.value, radio.getAttribute("data-label"));
  });

  // --- another customer on the order: its facilities, contacts and machines ------------------

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

  function customerChanged(form, id) {
    var url = form && form.getAttribute("data-options-url");
    if (!url) return;  // the order list's filter: nothing follows
    form.setAttribute("aria-busy", "true");
    fetch(url.replace("/0/", "/" + encodeURIComponent(id) + "/"), {
      headers: { Accept: "application/json" }, credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    }).then(function (data) {
      form.querySelectorAll("[data-facility-select]").forEach(function (s) { fillSelect(s, data.facilities); });
      form.querySelectorAll("[data-contact-select]").forEach(function (s) { fillSelect(s, data.contacts); });
      var machines = 'select[name$="-service_object_id"]';
      form.querySelectorAll(machines).forEach(function (s) { fillSelect(s, data.service_objects); });
      document.querySelectorAll("template").forEach(function (t) {
        t.content.querySelectorAll(machines).forEach(function (s) { fillSelect(s, data.service_objects); });
      });
    }).catch(function () { /* the server offers the customer's choices when the form is sent */ })
      .then(function () { form.removeAttribute("aria-busy"); });
  }

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
    var question = (submitter && submitter.getAttribute("data-confirm")) ||
      form.getAttribute("data-confirm-submit");
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    var unsign = form.querySelector("[data-confirm-unsign]");
    // Signing again covers the changed work: nothing to ask.
    var signs = submitter && submitter.hasAttribute("data-sign-submit");
    if (form.getAttribute("data-signed") === "1" && unsign && dirtyForms.has(form) && !signs) {
      // A signature never covers work it did not see (docs/decisions.md).
      if (!window.confirm(form.getAttribute("data-unsign-question"))) { event.preventDefault(); return; }
      unsign.value = "y";
    }
    submitting = true;
  });

  // --- Fortnox: follow a send while it is "I kö" or "Skickas" ---------------------------------
  //
  // The order page's #fortnox section carries data-fortnox-state-url while a send is under
  // way: GET it every FORTNOX_POLL_MS (JSON, see fortnox_send.fortnox_state). When the state
  // changes, the section and the head's badges are taken from the order page fetched afresh;
  // when the send has ended and changed the order's status (a sent order is locked), the
  // whole page is loaded again — unless there is unsaved work in the order form, or the page
  // answered a POST (no data-fortnox-may-reload: reloading would post again). The order
  // list follows its rows in [data-fortnox-follow] the same way, all in one request. After
  // FORTNOX_POLL_FOR_MS, or a few failed requests in a row, it stops and the page says to
  // reload, as it does without JavaScript.

  var FORTNOX_POLL_MS = 1500;
  var FORTNOX_POLL_FOR_MS = 5 * 60 * 1000;
  var FORTNOX_MAX_FAILURES = 5;

  function fetchOk(url, accept) {
    return fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: accept } })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        // A session that ran out answers with the login page (after a redirect): not ours.
        if (!response.ok || type.indexOf(accept) !== 0) throw new Error("HTTP " + response.status);
        return response;
      });
  }

  function poller(tick) {
    var until = Date.now() + FORTNOX_POLL_FOR_MS;
    var failures = 0;
    var api = {
      stopped: null,  // called when it gives up
      next: function () {
        if (Date.now() > until) { if (api.stopped) api.stopped(); return; }
        window.setTimeout(function () {
          tick().then(function (more) {
            failures = 0;
            if (more) api.next();
          }, function () {
            failures += 1;
            if (failures >= FORTNOX_MAX_FAILURES) { if (api.stopped) api.stopped(); } else api.next();
          });
        }, FORTNOX_POLL_MS);
      }
    };
    return api;
  }

  function followOrderSend(section) {
    var stateUrl = section.getAttribute("data-fortnox-state-url");
    var pageUrl = section.getAttribute("data-fortnox-page-url");
    var shown = section.getAttribute("data-fortnox-state");
    var status = section.getAttribute("data-order-status");
    var mayReload = section.hasAttribute("data-fortnox-may-reload");

    function note(live) {
      section.querySelectorAll("[data-fortnox-live]").forEach(function (el) { el.hidden = !live; });
      section.querySelectorAll("[data-fortnox-reload]").forEach(function (el) { el.hidden = live; });
    }

    function refresh() {
      return fetchOk(pageUrl, "text/html").then(function (response) { return response.text(); })
        .then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html");
          var fresh = page.getElementById("fortnox");
          if (!fresh) throw new Error("no #fortnox");
          section.innerHTML = fresh.innerHTML;
          var badges = page.querySelector(".order-head .badges");
          var here = document.querySelector(".order-head .badges");
          if (badges && here) here.innerHTML = badges.innerHTML;
          note(true);
        });
    }

    var poll = poller(function () {
      return fetchOk(stateUrl, "application/json").then(function (response) { return response.json(); })
        .then(function (data) {
          if (data.state === shown) return true;
          if (!data.in_progress && data.status !== status && mayReload && !dirtyForms.size) {
            window.location.reload();
            return false;
          }
          return refresh().then(function () {
            shown = data.state;
            return data.in_progress;
          });
        });
    });
    poll.stopped = function () { note(false); };
    note(true);
    poll.next();
  }

  function followListSends(cells) {
    var url = cells[0].getAttribute("data-fortnox-states-url");
    var following = {};
    cells.forEach(function (cell) { following[cell.getAttribute("data-fortnox-follow")] = cell; });

    function show(cell, selector, className, text) {
      var badge = cell && cell.querySelector(selector);
      if (!badge) return;
      badge.className = className;
      badge.textContent = text;
    }

    var poll = poller(function () {
      var ids = Object.keys(following);
      var query = ids.map(function (id) { return "id=" + encodeURIComponent(id); }).join("&");
      return fetchOk(url + "?" + query, "application/json").then(function (response) { return response.json(); })
        .then(function (data) {
          var seen = {};
          data.orders.forEach(function (order) {
            var cell = following[String(order.id)];
            if (!cell) return;
            seen[order.id] = true;
            show(cell, ".fx", "fx fx-" + order.state, order.label);
            show(cell.closest("tr").querySelector("[data-status-cell]"), ".status",
              "status status-" + order.status, order.status_label);
            if (!order.in_progress) delete following[String(order.id)];
          });
          ids.forEach(function (id) { if (!seen[id]) delete following[id]; });  // gone, or not ours
          return Object.keys(following).length > 0;
        });
    });
    poll.next();
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.fetch || !window.DOMParser) return;
    var section = document.querySelector("#fortnox[data-fortnox-state-url]");
    if (section) followOrderSend(section);
    var cells = Array.prototype.slice.call(document.querySelectorAll("[data-fortnox-follow]"));
    if (cells.length) followListSends(cells);
  });

  // --- integration health: the error dialog, a sync followed live, the indicator ------------
  //
  // (app/integrations/health.py.) A link [data-error-dialog] ("Klicka här för att veta mer")
  // shows the error's page (#error-detail) in a <dialog> over the page it is on; without
  // JavaScript, or when that page cannot be fetched, the link simply opens the page. A sync's
  // progress [data-sync-run-url] asks for the run (JSON) about once a second — every few
  // seconds after HEALTH_FAST_FOR_MS, never after HEALTH_POLL_FOR_MS or a few failures in a
  // row — and shows its latest log lines; when the run has ended the page is loaded again and
  // shows the result (the summary and the counts), unless a form on it has unsaved changes.
  // The indicator's popover (<details>) closes on a click elsewhere or Escape.

  var HEALTH_POLL_MS = 1000;
  var HEALTH_SLOW_POLL_MS = 5000;
  var HEALTH_FAST_FOR_MS = 5 * 60 * 1000;
  var HEALTH_POLL_FOR_MS = 30 * 60 * 1000;
  var HEALTH_MAX_FAILURES = 5;

  function healthFetch(url, accept) {
    return fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: accept } })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf(accept) !== 0) throw new Error("HTTP " + response.status);
        return response;
      });
  }

  function errorDialog() {
    var dialog = document.getElementById("error-dialog");
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.id = "error-dialog";
    dialog.className = "error-dialog";
    dialog.setAttribute("aria-labelledby", "error-title");
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) dialog.close();  // a click on the backdrop
    });
    document.body.appendChild(dialog);
    return dialog;
  }

  function openErrorDialog(link) {
    healthFetch(link.href, "text/html").then(function (response) { return response.text(); })
      .then(function (html) {
        var detail = new DOMParser().parseFromString(html, "text/html").getElementById("error-detail");
        if (!detail) throw new Error("no #error-detail");
        var dialog = errorDialog();
        dialog.textContent = "";
        var close = document.createElement("button");
        close.type = "button";
        close.className = "dialog-close";
        close.setAttribute("aria-label", lang.indexOf("en") === 0 ? "Close" : "Stäng");
        close.textContent = "×";
        close.addEventListener("click", function () { dialog.close(); });
        dialog.appendChild(close);
        dialog.appendChild(document.importNode(detail, true));
        dialog.querySelectorAll("[data-dialog-close]").forEach(function (back) {
          back.addEventListener("click", function (event) { event.preventDefault(); dialog.close(); });
        });
        if (!dialog.open) dialog.showModal();
      })
      .catch(function () { window.location.href = link.href; });
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    document.querySelectorAll("details[data-health][open]").forEach(function (details) {
      if (!details.contains(target)) details.open = false;
    });
    var link = target.closest ? target.closest("a[data-error-dialog]") : null;
    if (!link || event.defaultPrevented || event.button !== 0 ||
        event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    if (!window.fetch || !window.DOMParser || typeof HTMLDialogElement !== "function") return;
    event.preventDefault();
    var popover = link.closest("details");
    if (popover) popover.open = false;
    openErrorDialog(link);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details[data-health][open]").forEach(function (details) {
      details.open = false;
      var summary = details.querySelector("summary");
      if (summary) summary.focus();
    });
  });

  function followSync(box) {
    var url = box.getAttribute("data-sync-run-url");
    var list = box.querySelector("[data-sync-log]");
    var note = box.querySelector("[data-sync-reload]");
    var started = Date.now();
    var failures = 0;

    function stop(text) {
      if (!note) return;
      if (text) note.textContent = text;
      note.hidden = false;
    }

    function render(lines) {
      if (!list || !lines.length) return;
      list.textContent = "";
      lines.forEach(function (line) {
        var item = document.createElement("li");
        var time = document.createElement("time");
        time.textContent = line.time;
        item.appendChild(time);
        item.appendChild(document.createTextNode(" " + line.text));
        list.appendChild(item);
      });
      list.scrollTop = list.scrollHeight;
    }

    function next() {
      var elapsed = Date.now() - started;
      if (elapsed > HEALTH_POLL_FOR_MS) { stop(); return; }
      window.setTimeout(tick, elapsed > HEALTH_FAST_FOR_MS ? HEALTH_SLOW_POLL_MS : HEALTH_POLL_MS);
    }

    function tick() {
      healthFetch(url, "application/json").then(function (response) { return response.json(); })
        .then(function (run) {
          failures = 0;
          render(run.log || []);
          if (run.running) { next(); return; }
          box.removeAttribute("aria-busy");
          if (dirtyForms.size) { stop(run.summary || run.status_label); return; }
          window.location.reload();
        }, function () {
          failures += 1;
          if (failures >= HEALTH_MAX_FAILURES) stop(); else next();
        });
    }

    box.setAttribute("aria-busy", "true");
    next();
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.fetch) return;
    document.querySelectorAll("[data-sync-run-url]").forEach(followSync);
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
    // The customer the server shows: its label keeps the id while it is not edited.
    document.querySelectorAll("[data-customer-field]").forEach(function (field) {
      var id = field.querySelector("[data-customer-id]").value;
      var input = field.querySelector("[data-customer-search]");
      if (id && input) {
        input.setAttribute("data-picked-id", id);
        input.setAttribute("data-picked-label", input.value);
      }
    });
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
