// The form came back with errors: bring the keyboard to their summary (GOV.UK / NL Design
// System pattern). A file of its own, as the Content-Security-Policy allows no inline script.
document.getElementById("error-summary")?.focus();
