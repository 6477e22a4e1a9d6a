// The WebAuthn ceremony of the IdP's own pages (no library): a form marked data-webauthn="register" or
// "authenticate" fetches its options from data-options (with the form's CSRF fields), runs
// navigator.credentials.create/get with the browser's JSON parsers, puts credential.toJSON() into the
// form's "credential" field and submits it. The server checks everything.
(function () {
  "use strict";

  function fail(form, message) {
    let box = form.querySelector(".webauthn-error");
    if (!box) {
      box = document.createElement("p");
      box.className = "error webauthn-error";
      box.setAttribute("role", "alert");
      form.prepend(box);
    }
    box.textContent = message;
  }

  async function ceremony(form) {
    const body = new URLSearchParams(new FormData(form));
    body.delete("credential");
    const answer = await fetch(form.dataset.options, { method: "POST", body: body, credentials: "same-origin" });
    if (!answer.ok) {
      throw new Error("The passkey request was refused (" + answer.status + "). Reload the page and try again.");
    }
    const options = await answer.json();
    let credential;
    if (form.dataset.webauthn === "register") {
      credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
    } else {
      credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
    }
    form.elements.credential.value = JSON.stringify(credential.toJSON());
    form.submit();
  }

  function start(form) {
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
      fail(form, "This browser cannot use passkeys here.");
      return;
    }
    ceremony(form).catch(function (error) {
      fail(form, error && error.name === "NotAllowedError" ? "The passkey was not used (cancelled or timed out)." : String(error.message || error));
    });
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.dataset || !form.dataset.webauthn || form.elements.credential.value) {
      return;
    }
    event.preventDefault();
    start(form);
  });

  // A link that runs the ceremony of the form it names (the login page's "Sign in with a passkey").
  document.addEventListener("click", function (event) {
    const link = event.target.closest ? event.target.closest("a[data-webauthn-form]") : null;
    if (!link) {
      return;
    }
    event.preventDefault();
    start(document.getElementById(link.dataset.webauthnForm));
  });
})();
