// Site settings for this Power-Up, for the admin to edit where the files are hosted.
// Both are optional: `?key=` and `?service=` on the iframe connector URL take precedence.
//   appKey  - the Trello API key generated for this Power-Up in https://trello.com/power-ups/admin
//   service - base URL of `planerka-sync serve`, e.g. "https://planerka.example.com";
//             empty means "the server these files come from" (served at <service>/powerup/).
window.PLANERKA_CONFIG = window.PLANERKA_CONFIG || {
  appKey: '',
  service: ''
};
