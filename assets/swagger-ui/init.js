// Vigil's API docs: the document comes from this server. "Try it out" requests are
// same-origin, so they carry the session cookie of a logged-in browser (and its
// Origin header satisfies the CSRF guard); an API token can be set with Authorize.
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
