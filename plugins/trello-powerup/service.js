// Talking to `planerka-sync serve`: where it is, the Trello app key, and authorised requests.
(function (global) {
  'use strict';

  var APP_NAME = 'Planerka';

  function config() {
    return global.PLANERKA_CONFIG || {};
  }

  function queryParam(name) {
    try {
      return new URL(global.location.href).searchParams.get(name) || '';
    } catch (e) {
      return '';
    }
  }

  function withoutTrailingSlash(url) {
    return String(url).replace(/\/+$/, '');
  }

  // ?service= on this page's URL, else config.js, else the server these files come from
  // (they are served at <service>/powerup/, so the service is one level up).
  function serviceBase() {
    var explicit = queryParam('service') || config().service;
    if (explicit) {
      return withoutTrailingSlash(explicit);
    }
    return withoutTrailingSlash(new URL('../', global.location.href).href);
  }

  function appKey() {
    return queryParam('key') || config().appKey || '';
  }

  // An absolute URL of a page or asset in this folder carrying the service and key along,
  // so iframes opened by Trello know both before they talk to Trello.
  function pageUrl(file) {
    var url = new URL(file, global.location.href);
    url.search = '';
    url.hash = '';
    var service = queryParam('service') || config().service;
    if (service) {
      url.searchParams.set('service', withoutTrailingSlash(service));
    }
    if (appKey()) {
      url.searchParams.set('key', appKey());
    }
    return url.href;
  }

  function assetUrl(file) {
    return new URL(file, global.location.href).href.split('?')[0];
  }

  // The REST API client throws when no app key was configured; treat that as "not authorised".
  function restApi(t) {
    try {
      return t.getRestApi();
    } catch (e) {
      return null;
    }
  }

  // Russian when Trello's language starts with "ru", else English.
  function localeOf() {
    return global.PlanerkaI18n.pickLocale(global.locale);
  }

  // Replace an iframe's #content with ``nodes`` and fit the iframe to it.
  function show(t, nodes) {
    var content = global.document.getElementById('content');
    while (content.firstChild) {
      content.removeChild(content.firstChild);
    }
    nodes.forEach(function (node) { content.appendChild(node); });
    global.document.documentElement.lang = localeOf();
    return t.sizeTo('#content');
  }

  function token(t) {
    var api = restApi(t);
    if (!api) {
      return Promise.resolve(null);
    }
    return Promise.resolve(api.isAuthorized()).then(function (authorized) {
      return authorized ? api.getToken() : null;
    }).catch(function () {
      return null;
    });
  }

  function ServiceError(status, message) {
    this.name = 'ServiceError';
    this.status = status;
    this.message = message;
  }
  ServiceError.prototype = Object.create(Error.prototype);

  function request(method, path, trelloToken, locale) {
    var headers = { Accept: 'application/json', Authorization: 'Bearer ' + trelloToken };
    if (locale) {
      headers['Accept-Language'] = locale;
    }
    // The service localises its messages by ?locale=; Accept-Language says the same.
    var url = serviceBase() + path + (locale ? '?locale=' + encodeURIComponent(locale) : '');
    return fetch(url, { method: method, headers: headers, mode: 'cors' })
      .then(function (response) {
        return response.text().then(function (body) {
          var data = null;
          try {
            data = body ? JSON.parse(body) : null;
          } catch (e) {
            data = null;
          }
          if (!response.ok) {
            var detail = data && data.error ? data.error : 'HTTP ' + response.status;
            throw new ServiceError(response.status, detail);
          }
          return data;
        });
      }, function (error) {
        throw new ServiceError(0, error && error.message ? error.message : 'network error');
      });
  }

  function cardPath(boardId, cardId, tail) {
    return '/api/boards/' + encodeURIComponent(boardId) + '/cards/' + encodeURIComponent(cardId) + tail;
  }

  function cardState(boardId, cardId, trelloToken, locale) {
    return request('GET', cardPath(boardId, cardId, '/planerka'), trelloToken, locale);
  }

  function convert(boardId, cardId, trelloToken, locale) {
    return request('POST', cardPath(boardId, cardId, '/convert'), trelloToken, locale);
  }

  function kpi(boardId, trelloToken, locale) {
    return request('GET', '/api/boards/' + encodeURIComponent(boardId) + '/kpi', trelloToken, locale);
  }

  // Builds DOM from data without ever parsing it as HTML.
  function el(tag, attrs, children) {
    var node = global.document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) {
        return;
      }
      if (name === 'text') {
        node.textContent = String(value);
      } else if (name === 'className') {
        node.className = value;
      } else if (name.indexOf('on') === 0 && typeof value === 'function') {
        node.addEventListener(name.slice(2), value);
      } else {
        node.setAttribute(name, String(value));
      }
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) {
        node.appendChild(typeof child === 'string' ? global.document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function safeLink(url) {
    return /^https?:\/\//i.test(String(url || '')) ? String(url) : null;
  }

  global.PlanerkaService = {
    APP_NAME: APP_NAME,
    queryParam: queryParam,
    serviceBase: serviceBase,
    appKey: appKey,
    pageUrl: pageUrl,
    assetUrl: assetUrl,
    restApi: restApi,
    token: token,
    cardState: cardState,
    convert: convert,
    kpi: kpi,
    ServiceError: ServiceError,
    el: el,
    safeLink: safeLink,
    localeOf: localeOf,
    show: show
  };
})(window);
