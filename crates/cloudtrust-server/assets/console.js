// The console's and the portal's behaviour: dialogs, copy buttons, the generated token, and
// Invoke API. Loaded as a file (the Content-Security-Policy allows no inline script).
(function () {
  "use strict";

  // Dialogs marked data-show open as modal dialogs as soon as they arrive, whether the page
  // was loaded or swapped in by htmx.
  function showMarked(root) {
    root.querySelectorAll("dialog[data-show]").forEach(function (dialog) {
      if (!dialog.open) {
        dialog.showModal();
      }
    });
  }

  // After Generate, every Authorization field of the API Exploration gets the token.
  function useGenerated(root) {
    var generated = root.matches && root.matches("[data-authorization]")
      ? root
      : root.querySelector("[data-authorization]");
    if (!generated) {
      return;
    }
    document.querySelectorAll("input.authorization").forEach(function (input) {
      input.value = generated.dataset.authorization;
    });
    if (generated.dataset.customer) {
      document.querySelectorAll("input.customer").forEach(function (input) {
        if (!input.value) {
          input.value = generated.dataset.customer;
        }
      });
    }
  }

  function status(near, text) {
    var scope = near.closest("dialog, section, .generated") || document;
    var place = scope.querySelector(".copy-status");
    if (place) {
      place.textContent = text;
    }
  }

  function copy(button) {
    var source = document.getElementById(button.dataset.copy);
    if (!source) {
      return;
    }
    var text = "value" in source ? source.value : source.textContent;
    var done = function () {
      status(button, "Copied to the clipboard.");
    };
    var fallback = function () {
      // Older browsers, or a clipboard the page may not write: select and copy.
      if (source.select) {
        source.select();
      }
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (e) {
        ok = false;
      }
      status(button, ok ? "Copied to the clipboard." : "Select the text and copy it with your keyboard.");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-opens]");
    if (opener) {
      var dialog = document.getElementById(opener.dataset.opens);
      if (dialog && !dialog.open) {
        dialog.showModal();
      }
      return;
    }
    var closer = event.target.closest("[data-closes]");
    if (closer) {
      closer.closest("dialog").close();
      return;
    }
    var copier = event.target.closest("[data-copy]");
    if (copier) {
      copy(copier);
    }
  });

  // Invoke API: builds the request from the form and shows status, headers and body.
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form.invoke");
    if (!form) {
      return;
    }
    event.preventDefault();
    var path = form.dataset.path;
    var query = new URLSearchParams();
    var headers = { Accept: "application/json" };
    var body = null;
    form.querySelectorAll("[data-in]").forEach(function (field) {
      var value = field.value.trim();
      if (!value) {
        return;
      }
      switch (field.dataset.in) {
        case "path":
          path = path.replace("{" + field.name + "}", encodeURIComponent(value));
          break;
        case "query":
          query.append(field.name, value);
          break;
        case "header":
          headers[field.name] = value;
          break;
        case "body":
          body = value;
          headers["Content-Type"] = field.dataset.type;
          break;
      }
    });
    var url = path + (query.toString() ? "?" + query.toString() : "");
    var out = form.querySelector(".response");
    var statusLine = out.querySelector(".status");
    var headerText = out.querySelector(".headers");
    var bodyText = out.querySelector(".body");
    out.hidden = false;
    statusLine.textContent = "Sending " + form.dataset.method + " " + url + " …";
    headerText.textContent = "";
    bodyText.textContent = "";
    fetch(url, {
      method: form.dataset.method,
      headers: headers,
      body: body,
      credentials: "omit",
      redirect: "manual",
    }).then(function (response) {
      statusLine.textContent = response.status + " " + response.statusText;
      var lines = [];
      response.headers.forEach(function (value, name) {
        lines.push(name + ": " + value);
      });
      headerText.textContent = lines.join("\n");
      return response.text();
    }).then(function (text) {
      try {
        bodyText.textContent = JSON.stringify(JSON.parse(text), null, 2);
      } catch (e) {
        bodyText.textContent = text;
      }
    }).catch(function (error) {
      statusLine.textContent = "The request could not be sent: " + error.message;
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    showMarked(document);
    useGenerated(document);
  });
  document.addEventListener("htmx:load", function (event) {
    showMarked(document);
    useGenerated(event.detail.elt);
  });
})();
