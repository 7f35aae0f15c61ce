"""The words and phrases an inbound text is read by, one table per language (SPEC §5, issue 18).

Data only: messaging.keywords holds the one rule that reads these tables, so adding a language or a
phrase is a change here and a line in the phrase test, never a new branch of code. Every entry is
written as a person would type it; it is normalised exactly like an inbound text (case, accents,
apostrophes and punctuation dropped), so "arrêter", "ARRETER" and "Arrêter!" are one entry.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class LanguageTable:
    code: str
    name: str
    # One word that revokes consent: the regulator's words (stop, quit, end, revoke, opt out, cancel,
    # unsubscribe) and their counterparts. As the first word, or anywhere in a short text that is not a question.
    stop_words: frozenset[str]
    # Phrases that clearly ask to stop or be removed, wherever they are in the text, questions included.
    stop_phrases: tuple[str, ...]
    # Opt back in (within the first two words), help, and YES to a double opt-in request (the first word).
    start_words: frozenset[str]
    help_words: frozenset[str]
    confirm_words: frozenset[str]
    # A text is a question when it has a "?" or starts with one of these: a question that only mentions a stop
    # word ("when will the outage end?") is not a revocation.
    question_words: frozenset[str]
    # Words about our texts or the sender's own number. A longer text or a question with a stop word and one of
    # these may be a revocation in the owner's own words, so a person reads it (the inbox).
    about_us_words: frozenset[str]


ENGLISH = LanguageTable(
    code="en",
    name="English",
    stop_words=frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}),
    stop_phrases=(
        "opt out",
        "opt me out",
        "remove me",
        "take me off",
        "delete me",
        "delete my number",
        "remove my number",
        "no more texts",
        "no more text",
        "no more messages",
        "no more alerts",
        "no more sms",
        "dont text me",
        "do not text me",
        "dont message me",
        "do not message me",
        "dont contact me",
        "do not contact me",
        "stop texting",
        "stop sending",
        "stop messaging",
        "stop the texts",
        "stop these texts",
        "stop the messages",
        "stop these messages",
        "stop the alerts",
        "stop these alerts",
        "leave me alone",
        "i want out",
        "not interested",
        "wrong number",
        "unsubscribe me",
        "cancel my alerts",
        "cancel my subscription",
        "cancel alerts",
        "cancel texts",
        "end texts",
        "end alerts",
        "quit texting",
        "quit sending",
    ),  # fmt: skip
    start_words=frozenset({"start", "unstop"}),
    help_words=frozenset({"help", "info"}),
    confirm_words=frozenset({"yes"}),
    question_words=frozenset(
        {
            "when",
            "why",
            "how",
            "what",
            "where",
            "who",
            "will",
            "would",
            "did",
            "does",
            "do",
            "is",
            "are",
            "can",
            "could",
            "should",
            "has",
            "have",
            "was",
        }
    ),  # fmt: skip
    about_us_words=frozenset(
        {
            "me",
            "my",
            "text",
            "texts",
            "texting",
            "message",
            "messages",
            "alert",
            "alerts",
            "sms",
            "number",
            "list",
            "subscription",
            "sending",
            "contact",
        }
    ),  # fmt: skip
)

SPANISH = LanguageTable(
    code="es",
    name="Español",
    stop_words=frozenset(
        {
            "alto",
            "parar",
            "pare",
            "paren",
            "detener",
            "cancelar",
            "cancela",
            "baja",
            "terminar",
            "fin",
            "desuscribir",
            "desuscribirme",
            "salir",
            "basta",
            "anular",
            "revocar",
        }
    ),  # fmt: skip
    stop_phrases=(
        "no mas",
        "no mas mensajes",
        "no mas textos",
        "no mas alertas",
        "darme de baja",
        "dame de baja",
        "de baja",
        "quiero parar",
        "quiero salir",
        "quiero cancelar",
        "dejen de enviar",
        "dejen de mandar",
        "deja de enviar",
        "no me envien",
        "no me manden",
        "no me escriban",
        "no quiero mensajes",
        "no quiero recibir",
        "no quiero mas",
        "borrenme",
        "eliminen mi numero",
        "borren mi numero",
        "quitenme de la lista",
        "sacame de la lista",
        "sacarme de la lista",
        "numero equivocado",
    ),  # fmt: skip
    start_words=frozenset({"inicio", "iniciar", "empezar", "comenzar", "reanudar"}),
    help_words=frozenset({"ayuda", "informacion"}),
    confirm_words=frozenset({"si"}),
    question_words=frozenset(
        {"cuando", "porque", "como", "que", "donde", "quien", "cual", "va", "hay", "puedo", "puede"}
    ),
    about_us_words=frozenset(
        {
            "me",
            "mi",
            "mis",
            "mensaje",
            "mensajes",
            "texto",
            "textos",
            "alerta",
            "alertas",
            "numero",
            "lista",
            "suscripcion",
            "enviar",
            "envien",
            "recibir",
        }
    ),  # fmt: skip
)

FRENCH = LanguageTable(
    code="fr",
    name="Français",
    stop_words=frozenset(
        {
            "arret",
            "arreter",
            "arretez",
            "desabonner",
            "desabonnement",
            "desinscrire",
            "desinscription",
            "annuler",
            "annulez",
            "fin",
            "terminer",
            "revoquer",
            "stop",
        }
    ),  # fmt: skip
    stop_phrases=(
        "me desabonner",
        "me desinscrire",
        "desabonnez moi",
        "desinscrivez moi",
        "retirez moi",
        "supprimez moi",
        "supprimez mon numero",
        "retirez mon numero",
        "je veux arreter",
        "plus de messages",
        "plus de textos",
        "plus de sms",
        "plus d alertes",
        "ne menvoyez plus",
        "ne m envoyez plus",
        "arretez denvoyer",
        "arretez les messages",
        "arretez les textos",
        "ne plus recevoir",
        "ne veux plus recevoir",
        "laissez moi tranquille",
        "mauvais numero",
    ),  # fmt: skip
    start_words=frozenset({"debut", "commencer", "reprendre", "demarrer"}),
    help_words=frozenset({"aide", "info"}),
    confirm_words=frozenset({"oui"}),
    question_words=frozenset(
        {"quand", "pourquoi", "comment", "quoi", "quel", "quelle", "ou", "qui", "est", "estce", "combien"}
    ),
    about_us_words=frozenset(
        {
            "me",
            "moi",
            "mon",
            "mes",
            "message",
            "messages",
            "texto",
            "textos",
            "sms",
            "alerte",
            "alertes",
            "numero",
            "liste",
            "abonnement",
            "envoyer",
            "recevoir",
        }
    ),  # fmt: skip
)

TABLES: dict[str, LanguageTable] = {table.code: table for table in (ENGLISH, SPANISH, FRENCH)}
LANGUAGES = tuple(TABLES)
DEFAULT_LANGUAGE = "en"
LANGUAGE_CHOICES = [(table.code, table.name) for table in TABLES.values()]

# A text of at most this many words that holds a stop word (and is not a question) is a revocation.
SHORT_TEXT_WORDS = 4
# How long staff have to honour a revocation they have to read themselves (47 CFR 64.1200(a)(10)).
INBOX_BUSINESS_DAYS = 10
