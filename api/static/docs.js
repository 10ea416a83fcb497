// Starts Swagger UI on /docs over this server's OpenAPI document (a file, not inline: the page's
// Content-Security-Policy runs scripts from this server only).
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.document,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    validatorUrl: null  // the badge would send the document to swagger.io: the page stays offline
  });
}());
