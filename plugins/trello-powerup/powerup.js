// The Power-Up connector: tells Trello what planerka-sync adds to cards and boards.
(function (global) {
  'use strict';

  var S = global.PlanerkaService;
  var I18n = global.PlanerkaI18n;
  var ICON = S.assetUrl('icon.svg');
  var SECTION_HEIGHT = 240;
  var KPI_HEIGHT = 520;

  var localeOf = S.localeOf;

  // Trello asks for a card's badges, buttons and section at once: one request serves them all.
  var CACHE_MS = 10000;
  var cache = {};

  function forget(cardId) {
    delete cache[cardId];
  }

  // The card's planerka state, or null when the user has not authorised yet, the board is not
  // served, the member is not on it, or the service cannot be reached: the card then shows nothing.
  function loadCard(t) {
    var context = t.getContext();
    return S.token(t).then(function (token) {
      if (!token || !context.card) {
        return null;
      }
      var cached = cache[context.card];
      if (cached && cached.token === token && Date.now() - cached.at < CACHE_MS) {
        return cached.state;
      }
      var state = S.cardState(context.board, context.card, token, localeOf()).catch(function (error) {
        if (global.console) {
          global.console.warn('planerka: card state unavailable:', error.status, error.message);
        }
        forget(context.card);
        return null;
      });
      cache[context.card] = { token: token, at: Date.now(), state: state };
      return state;
    });
  }

  function taskBadges(task, locale) {
    var badges = [];
    if (task.owner) {
      badges.push({ text: I18n.text(locale, 'owner', { owner: task.owner }), icon: ICON });
    }
    if (task.due) {
      var due = { text: I18n.text(locale, 'due', { due: I18n.formatDay(locale, task.due) }) };
      if (task.overdue && !task.done) {
        due.color = 'red';
      }
      badges.push(due);
    }
    if (task.done) {
      badges.push({ text: I18n.text(locale, 'done'), color: 'green' });
    }
    return badges;
  }

  function meetingBadges(meeting, locale) {
    var counts = meeting.counts || {};
    var badges = [
      { text: I18n.text(locale, 'captured', { n: counts.captured || 0 }), icon: ICON },
      { text: I18n.text(locale, 'created', { n: counts.created || 0 }) }
    ];
    if (counts.errors > 0) {
      badges.push({ text: I18n.text(locale, 'errors', { n: counts.errors }), color: 'red' });
    }
    return badges;
  }

  function cardBadges(t) {
    return loadCard(t).then(function (state) {
      var locale = localeOf();
      if (state && state.kind === 'task' && state.task) {
        return taskBadges(state.task, locale);
      }
      if (state && state.kind === 'meeting' && state.meeting) {
        return meetingBadges(state.meeting, locale);
      }
      return [];
    });
  }

  function convertDecisions(t) {
    var context = t.getContext();
    var locale = localeOf();
    return S.token(t).then(function (token) {
      if (!token) {
        throw new S.ServiceError(401, I18n.text(locale, 'authorizeIntro'));
      }
      return S.convert(context.board, context.card, token, locale);
    }).then(function (result) {
      forget(context.card);
      return t.alert({ message: result.message, duration: 6, display: result.errors > 0 ? 'warning' : 'success' });
    }, function (error) {
      var detail = error && error.message ? error.message : String(error);
      return t.alert({ message: I18n.text(locale, 'convertFailed', { detail: detail }), duration: 8, display: 'error' });
    });
  }

  function cardButtons(t) {
    return loadCard(t).then(function (state) {
      if (!state || state.kind !== 'meeting') {
        return [];
      }
      return [{ icon: ICON, text: I18n.text(localeOf(), 'convertButton'), callback: convertDecisions, condition: 'edit' }];
    });
  }

  function openKpi(t) {
    var locale = localeOf();
    return t.popup({
      title: I18n.text(locale, 'kpiTitle'),
      url: S.pageUrl('kpi.html'),
      args: { service: S.serviceBase(), key: S.appKey() },
      height: KPI_HEIGHT
    });
  }

  function boardButtons() {
    return [{
      icon: { dark: ICON, light: ICON },
      text: I18n.text(localeOf(), 'boardButton'),
      callback: openKpi,
      condition: 'signedIn'
    }];
  }

  function section(t, locale) {
    return {
      title: I18n.text(locale, 'sectionTitle'),
      icon: ICON,
      content: {
        type: 'iframe',
        url: t.signUrl(S.pageUrl('section.html'), { service: S.serviceBase(), key: S.appKey() }),
        height: SECTION_HEIGHT
      }
    };
  }

  // Meeting cards get the decisions section. Before the member has authorised, the Power-Up
  // cannot tell a meeting card from any other, so every card offers the section with the
  // "Authorize" button: it is the only place the authorisation popup can be opened from.
  function cardBackSection(t) {
    var locale = localeOf();
    return S.token(t).then(function (token) {
      if (!token) {
        return section(t, locale);
      }
      return loadCard(t).then(function (state) {
        return state && state.kind === 'meeting' ? section(t, locale) : null;
      });
    });
  }

  global.PlanerkaPowerUp = {
    cardBadges: cardBadges,
    cardButtons: cardButtons,
    boardButtons: boardButtons,
    cardBackSection: cardBackSection
  };

  global.TrelloPowerUp.initialize({
    'card-badges': cardBadges,
    'card-buttons': cardButtons,
    'board-buttons': boardButtons,
    'card-back-section': cardBackSection
  }, {
    appKey: S.appKey(),
    appName: S.APP_NAME
  });
})(window);
