// The admin's small behaviours: confirmations, copy buttons, the invoice editor's lines and live
// totals, and the branding preview. Loaded as a file because the CSP forbids inline script.
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = button.parentElement.querySelector("[data-copy-source]");
  source.select();
  const done = () => { button.textContent = "Copied"; setTimeout(() => { button.textContent = "Copy"; }, 1500); };
  if (navigator.clipboard) navigator.clipboard.writeText(source.value).then(done, () => document.execCommand("copy") && done());
  else if (document.execCommand("copy")) done();
});

function setupInvoiceEditor(form) {
  const body = form.querySelector("[data-lines]");
  const catalogue = JSON.parse(form.dataset.catalogue || "[]");
  let timer = null;

  // Rows are named lines-<n>-<field>; a new row takes the next free n (gaps are fine for the server).
  function nextIndex() {
    let highest = -1;
    body.querySelectorAll("[name^='lines-']").forEach((input) => {
      highest = Math.max(highest, parseInt(input.name.split("-")[1], 10));
    });
    return highest + 1;
  }

  function addLine() {
    const template = body.querySelector("[data-line]");
    const row = template.cloneNode(true);
    const index = nextIndex();
    row.querySelectorAll("input, select").forEach((input) => {
      input.name = input.name.replace(/^lines-\d+-/, `lines-${index}-`);
      input.id = input.name;
      if (input.tagName === "SELECT") input.selectedIndex = 0;
      else if (input.name.endsWith("quantity")) input.value = "1";
      else if (input.name.endsWith("tax_category")) input.value = "";
      else if (input.name.endsWith("tax_rate")) input.value = form.dataset.defaultTaxRate || "0";
      else if (input.name.endsWith("discount_percent")) input.value = "0";
      else input.value = "";
    });
    row.querySelectorAll(".field__error").forEach((error) => error.remove());
    row.querySelector("[data-line-net]").textContent = "";
    body.appendChild(row);
    row.querySelector("[data-field='description']").focus();
  }

  function removeLine(row) {
    if (body.querySelectorAll("[data-line]").length > 1) row.remove();
    else row.querySelectorAll("input").forEach((input) => { input.value = ""; });
    scheduleTotals();
  }

  function fillFromProduct(select) {
    const product = catalogue.find((item) => String(item.id) === select.value);
    if (!product) return;
    const row = select.closest("[data-line]");
    row.querySelector("[data-field='description']").value = product.name;
    row.querySelector("[data-field='price']").value = product.price;
    row.querySelector("[data-field='tax']").value = product.tax;
    row.querySelector("[data-field='category']").value = product.category;
    scheduleTotals();
  }

  async function refreshTotals() {
    const response = await fetch(form.dataset.totalsUrl, { method: "POST", body: new FormData(form), credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    const error = form.querySelector("[data-totals-error]");
    error.hidden = data.ok;
    if (!data.ok) { error.textContent = data.error; return; }
    form.querySelectorAll("[data-total]").forEach((cell) => { cell.textContent = data[cell.dataset.total]; });
    form.querySelectorAll("[data-line]").forEach((row, i) => { row.querySelector("[data-line-net]").textContent = data.lines[i] || ""; });
    const taxes = form.querySelector("[data-taxes]");
    taxes.replaceChildren();
    data.taxes.forEach((tax) => {
      const dt = document.createElement("dt");
      dt.textContent = tax.category === "S" ? `Tax ${tax.rate} % on ${tax.base}` : `${tax.category} on ${tax.base}`;
      const dd = document.createElement("dd");
      dd.textContent = tax.amount;
      taxes.append(dt, dd);
    });
  }

  function scheduleTotals() {
    clearTimeout(timer);
    timer = setTimeout(refreshTotals, 250);
  }

  form.addEventListener("click", (event) => {
    if (event.target.closest("[data-add-line]")) { addLine(); }
    const remove = event.target.closest("[data-remove-line]");
    if (remove) removeLine(remove.closest("[data-line]"));
  });
  form.addEventListener("change", (event) => {
    if (event.target.matches("[data-product]")) fillFromProduct(event.target);
    else scheduleTotals();
  });
  form.addEventListener("input", scheduleTotals);
  refreshTotals();

  // The "new customer" fields show only while "+ New customer" is chosen (without script they always show).
  const customer = form.querySelector("[data-customer-select]");
  const newCustomer = form.querySelector("[data-new-customer]");
  if (customer && newCustomer) {
    const toggle = () => { newCustomer.hidden = customer.value !== "0"; };
    customer.addEventListener("change", toggle);
    toggle();
  }
}

function setupBrandingPreview(form) {
  const preview = document.querySelector("[data-brand-preview]");
  if (!preview) return;
  form.querySelectorAll("[data-preview-var]").forEach((input) => {
    const update = () => {
      preview.style.setProperty(input.dataset.previewVar, input.value);
      const label = input.parentElement.querySelector("[data-colour-value]");
      if (label) label.textContent = input.value;
    };
    input.addEventListener("input", update);
    update();
  });
  const theme = form.querySelector("[data-preview-theme]");
  if (theme) {
    theme.addEventListener("change", () => {
      [...preview.classList].filter((name) => name.startsWith("brand-preview--")).forEach((name) => preview.classList.remove(name));
      preview.classList.add(`brand-preview--${theme.value}`);
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const editor = document.getElementById("invoice-editor");
  if (editor) setupInvoiceEditor(editor);
  const branding = document.getElementById("branding-form");
  if (branding) setupBrandingPreview(branding);
  document.querySelectorAll("[data-tab]").forEach((tab) => tab.addEventListener("click", () => {
    document.querySelectorAll("[data-tab]").forEach((other) => other.classList.toggle("active", other === tab));
  }));
});
