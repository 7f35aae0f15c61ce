"""The phrase table: inbound texts in English, Spanish and French, through the real webhook, both ways.

Each row is a text a customer might send, what the rules of messaging.keywords make of it, and the
language it tells ("" when it tells none). A revocation opts the number out as its owner's; an inbox
text changes nothing and waits for a person; everything else leaves the list alone.
"""

import pytest

from messaging.keywords import Meaning, read
from messaging.models import InboundMessage
from messaging.phrases import LANGUAGE_CHOICES, TABLES
from subscribers.models import LANGUAGE_CHOICES as SUBSCRIBER_LANGUAGES
from subscribers.models import Subscriber
from tests.messaging.conftest import text_in

S, U, O = Meaning.STOP, Meaning.UNCLEAR, Meaning.OTHER

PHRASES = [
    # English: the FCC's words, alone, shouted, punctuated, with a word around them
    ("stop", S, ""), ("STOP", S, ""), (" Stop. ", S, ""), ("stop!!!", S, ""), ("Stop please", S, ""),
    ("STOPALL", S, "en"), ("quit", S, "en"), ("QUIT.", S, "en"), ("end", S, "en"), ("END", S, "en"),
    ("revoke", S, "en"), ("Revoke consent", S, "en"), ("opt out", S, "en"), ("Opt-Out", S, "en"),
    ("OPTOUT", S, "en"), ("cancel", S, "en"), ("Cancel!", S, "en"), ("unsubscribe", S, "en"),
    ("UNSUBSCRIBE ME", S, "en"), ("please stop", S, ""), ("pls stop texting me", S, "en"),
    ("ok stop", S, ""), ("just cancel", S, "en"), ("I said stop", S, ""), ("please unsubscribe", S, "en"),
    # English: phrases that clearly ask to stop or be removed
    ("remove me", S, "en"), ("Please remove me from this list", S, "en"), ("take me off your list", S, "en"),
    ("Take me off the list please", S, "en"), ("no more texts", S, "en"), ("No more messages!", S, "en"),
    ("no more alerts thank you", S, "en"), ("don't text me", S, "en"), ("Dont text me again", S, "en"),
    ("do not text me", S, "en"), ("do not contact me anymore", S, "en"), ("stop texting this number", S, ""),
    ("Can you stop sending me these?", S, "en"), ("stop the messages", S, ""), ("leave me alone", S, "en"),
    ("I want out", S, "en"), ("not interested", S, "en"), ("wrong number", S, "en"),
    ("This is the wrong number, who is this", S, "en"), ("delete my number", S, "en"),
    ("cancel my alerts", S, "en"), ("opt me out", S, "en"), ("please remove my number from your list", S, "en"),
    ("I no longer live here, remove me", S, "en"), ("quit texting", S, "en"),
    # English: a person has to read these (a stop word about our texts, in a longer text or a question)
    ("how do I cancel these texts?", U, "en"), ("Will you end the alerts for my old address", U, "en"),
    ("I moved so you can cancel the alerts for this number now", U, "en"),
    ("is there a way to stop getting alerts at night", U, ""), ("my husband wants to quit the alert list", U, "en"),
    ("can I unsubscribe my mother's number?", U, "en"),
    # English: they only mention a word, or are something else entirely
    ("when will the outage end?", O, ""), ("When will it end", O, ""), ("the power did not stop flickering all night long", O, ""),
    ("did the storm end yet", O, ""), ("stopped", O, ""), ("nonstop", O, ""), ("hello", O, ""), ("", O, ""),
    ("?!", O, ""), ("Is the power out on Elm St?", O, ""), ("thanks for the update", O, ""),
    ("power is back, thank you", O, ""), ("what is the estimated restoration time", O, ""),
    ("we have a tree on the line at 5th and Main", O, ""), ("Why did it go out again?", O, ""),
    ("how long until the crews get here", O, ""), ("the outage seems to end at the bridge", O, ""),
    ("great job guys", O, ""), ("ok", O, ""), ("Thank you!", O, ""),
    # Spanish: words
    ("alto", S, "es"), ("ALTO", S, "es"), ("Alto!", S, "es"), ("parar", S, "es"), ("PARAR", S, "es"),
    ("pare", S, "es"), ("cancelar", S, "es"), ("Cancelar por favor", S, "es"), ("baja", S, "es"),
    ("BAJA", S, "es"), ("terminar", S, "es"), ("detener", S, "es"), ("desuscribir", S, "es"),
    ("desuscribirme", S, "es"), ("salir", S, "es"), ("basta", S, "es"), ("fin", S, ""), ("FIN", S, ""),
    ("alto por favor", S, "es"), ("por favor alto", S, "es"),
    # Spanish: phrases
    ("no más", S, "es"), ("No mas", S, "es"), ("NO MÁS MENSAJES", S, "es"), ("no más textos por favor", S, "es"),
    ("quiero parar", S, "es"), ("Quiero parar los mensajes", S, "es"), ("darme de baja", S, "es"),
    ("quiero darme de baja", S, "es"), ("Dame de baja", S, "es"), ("no me envíen más mensajes", S, "es"),
    ("no me manden mensajes", S, "es"), ("dejen de enviar mensajes", S, "es"), ("no quiero mensajes", S, "es"),
    ("no quiero recibir alertas", S, "es"), ("bórrenme de la lista", S, "es"), ("quítenme de la lista", S, "es"),
    ("número equivocado", S, "es"), ("sácame de la lista", S, "es"), ("quiero salir de la lista", S, "es"),
    ("eliminen mi número", S, "es"),
    # Spanish: the inbox, and texts that are not revocations
    ("¿cómo puedo cancelar estos mensajes?", U, "es"), ("mi mamá quiere cancelar las alertas de su número", U, "es"),
    ("¿cuándo vuelve la luz?", O, ""), ("hola", O, ""), ("gracias", O, ""), ("ya volvió la luz, gracias", O, ""),
    ("¿cuándo es el fin del apagón?", O, ""), ("hay un árbol caído en la calle", O, ""), ("muchas gracias por avisar", O, ""),
    ("¿Por qué se fue la luz otra vez?", O, ""),
    # French: words
    ("arrêt", S, "fr"), ("ARRÊT", S, "fr"), ("arret", S, "fr"), ("Arret!", S, "fr"), ("arrêter", S, "fr"),
    ("ARRETER", S, "fr"), ("arrêtez", S, "fr"), ("désabonner", S, "fr"), ("DESABONNER", S, "fr"),
    ("désinscrire", S, "fr"), ("annuler", S, "fr"), ("Annuler svp", S, "fr"), ("terminer", S, "fr"),
    ("révoquer", S, "fr"), ("désabonnement", S, "fr"), ("arrêt svp", S, "fr"), ("stop merci", S, ""),
    # French: phrases
    ("me désabonner", S, "fr"), ("Je veux me désabonner", S, "fr"), ("désabonnez-moi", S, "fr"),
    ("retirez-moi de la liste", S, "fr"), ("Retirez moi", S, "fr"), ("supprimez mon numéro", S, "fr"),
    ("je veux arrêter", S, "fr"), ("plus de messages", S, "fr"), ("Plus de messages svp", S, "fr"),
    ("ne m'envoyez plus de messages", S, "fr"), ("ne m’envoyez plus rien", S, "fr"),
    ("je ne veux plus recevoir ces alertes", S, "fr"), ("laissez-moi tranquille", S, "fr"),
    ("mauvais numéro", S, "fr"), ("plus de textos", S, "fr"), ("me désinscrire s'il vous plaît", S, "fr"),
    ("arrêtez les messages", S, "fr"), ("plus de SMS", S, "fr"),
    # French: the inbox, and texts that are not revocations
    ("comment annuler ces messages?", U, "fr"), ("Pourquoi je reçois ces alertes? vous pouvez annuler mon abonnement", U, "fr"),
    ("quand est-ce que la panne va finir?", O, ""), ("bonjour", O, ""), ("merci", O, ""),
    ("le courant est revenu, merci", O, ""), ("quand est la fin de la panne?", O, ""),
    ("il y a un arbre sur la ligne", O, ""), ("à quelle heure le courant revient", O, ""), ("merci beaucoup", O, ""),
]  # fmt: skip


def test_the_table_holds_at_least_150_texts_in_every_language_both_ways():
    assert len(PHRASES) >= 150
    assert len({text for text, _, _ in PHRASES}) == len(PHRASES)
    meanings = {meaning for _, meaning, _ in PHRASES}
    assert meanings == {S, U, O}
    assert [code for code, _ in LANGUAGE_CHOICES] == [code for code, _ in SUBSCRIBER_LANGUAGES] == list(TABLES)


@pytest.mark.parametrize(("text", "meaning", "language"), PHRASES)
def test_the_rules_read_each_text_of_the_table(text, meaning, language):
    reading = read(text)
    assert (reading.meaning, reading.language) == (meaning, language), reading


@pytest.mark.django_db
def test_every_text_of_the_table_through_the_real_webhook(client, account, sender, django_capture_on_commit_callbacks):
    outcomes = {}
    for index, (text, meaning, language) in enumerate(PHRASES):
        phone = f"+1202555{index:04d}"
        Subscriber.objects.create(account=account, phone=phone, status="opted_in")
        with django_capture_on_commit_callbacks(execute=True):
            response = text_in(client, text, phone)
        assert response.status_code == 200
        number = Subscriber.objects.get(account=account, phone=phone)
        message = InboundMessage.objects.get(account=account, phone=phone)
        outcomes[text] = (message.meaning, number.status, number.opted_out_by)
        if meaning == S:
            assert outcomes[text] == ("stop", "opted_out", "subscriber"), text
            assert number.language == (language or "en"), text
        elif meaning == U:
            assert outcomes[text] == ("unclear", "opted_in", ""), text
            assert message.respond_by is not None and message.resolution == ""
        else:
            assert outcomes[text][1:] == ("opted_in", ""), text
            assert message.meaning in ("other", "help", "confirm", "start"), text
    assert len(outcomes) == len(PHRASES)
