"""Phrase bank for the synthetic demo stream (:mod:`voc.ingest.demo_data`).

Per topic: core sentences (paraphrases) per language and optional details;
openers/closers are shared. Written by the project; no external data.
"""

from __future__ import annotations

OPENERS = {
    "en": ["Hi,", "Hello team,", "Hey", "Good morning,", "Hi there,", "", "", "", "Ugh.",
           "Not happy.", "Quick question:", "Hi support,"],
    "de": ["Hallo,", "Guten Tag,", "Hallo zusammen,", "", "", "Moin,"],
    "fr": ["Bonjour,", "Bonjour à tous,", "Salut,", "", ""],
    "es": ["Hola,", "Buenas,", "Hola equipo,", "", ""],
}
CLOSERS = {
    "en": ["Thanks.", "Please help.", "Any update?", "This is really frustrating.", "", "",
           "Thank you in advance.", "Please fix this asap!!", "Cheers", "", "Regards"],
    "de": ["Danke.", "Bitte um Hilfe.", "Das ist echt ärgerlich.", "", "Viele Grüße"],
    "fr": ["Merci.", "Merci d'avance.", "C'est vraiment pénible.", "", "Cordialement"],
    "es": ["Gracias.", "Por favor, ayuda.", "Es muy frustrante.", "", "Saludos"],
}

# topic key -> {"label", "keywords", "product_area", "tags", "weight", "csat" (mean), "en": [...],
#               "de"/"fr"/"es": [...], "details": [...]}
TOPICS: dict[str, dict] = {
    "refunds": {
        "label": "Refund not received", "keywords": ["refund", "money back", "returned"],
        "product_area": "billing", "tags": ["refund", "billing"], "weight": 14, "csat": 3.4,
        "en": [
            "I returned my order two weeks ago and still have not received my refund.",
            "Where is my refund? The item was sent back and nothing has arrived on my card.",
            "You promised a refund within 5 days but it's been almost a month.",
            "I was charged but the order was cancelled, I want my money back.",
            "Still waiting for the refund for order {order}, nobody answers my emails.",
            "The refund shows as processed in the app but my bank never got it.",
            "Requested a refund for a damaged item, got an automated reply and then nothing.",
            "Why does a refund take so long? I paid instantly but wait weeks for my money.",
        ],
        "de": [
            "Ich habe meine Bestellung zurückgeschickt und warte noch auf die Rückerstattung.",
            "Wo bleibt meine Erstattung? Das Geld ist nach drei Wochen nicht auf meinem Konto.",
            "Die Erstattung für Bestellung {order} wurde angeblich bearbeitet, nichts kam an.",
            "Ich möchte mein Geld zurück, die Bestellung wurde storniert.",
        ],
        "fr": [
            "J'ai renvoyé ma commande il y a deux semaines et je n'ai toujours pas été remboursé.",
            "Où est mon remboursement ? La commande {order} a été annulée.",
            "Le remboursement est indiqué comme traité mais ma banque n'a rien reçu.",
        ],
        "es": [
            "Devolví el pedido hace dos semanas y todavía no tengo el reembolso.",
            "¿Dónde está mi reembolso? El pedido {order} fue cancelado.",
            "El reembolso aparece como procesado pero mi banco no ha recibido nada.",
        ],
        "details": ["I paid with PayPal.", "It was about 49 EUR.", "The tracking says delivered "
                    "to your warehouse.", "I already sent photos of the damage.",
                    "My ticket number is {order}."],
    },
    "verification_codes": {
        "label": "Verification code not arriving",
        "keywords": ["verification code", "sms", "code", "login", "2fa"],
        "product_area": "account", "tags": ["login", "2fa"], "weight": 10, "csat": 2.9,
        "en": [
            "I never receive the verification code by SMS so I can't log in.",
            "The login code doesn't arrive, I've tried resending it ten times.",
            "Two-factor code never comes to my phone, I'm locked out of my account.",
            "Verification email with the code is not arriving, not even in spam.",
            "Can't sign in because the 6 digit code takes forever or never shows up.",
            "The SMS code arrives after it has already expired.",
            "Stuck on the 'enter your code' screen, no code ever received.",
            "My phone number is correct but the one-time code never gets delivered.",
        ],
        "de": [
            "Ich bekomme keinen Bestätigungscode per SMS und kann mich nicht einloggen.",
            "Der Verifizierungscode kommt nie an, auch nach mehrmaligem Anfordern.",
            "Der Login-Code per SMS kommt erst, wenn er schon abgelaufen ist.",
        ],
        "fr": [
            "Je ne reçois jamais le code de vérification par SMS, impossible de me connecter.",
            "Le code de connexion n'arrive pas, même après plusieurs demandes.",
        ],
        "es": [
            "No me llega el código de verificación por SMS y no puedo iniciar sesión.",
            "El código de acceso nunca llega a mi teléfono.",
        ],
        "details": ["I'm on {carrier}.", "I tried with wifi and mobile data.",
                    "This started this week.", "I need to access my account for work."],
    },
    "account_ban": {
        "label": "Account banned, appeal", "keywords": ["banned", "suspended", "appeal"],
        "product_area": "trust_safety", "tags": ["ban", "appeal"], "weight": 8, "csat": 2.4,
        "en": [
            "My account was suspended without any explanation, I did nothing wrong.",
            "I got banned for no reason and my appeal has been ignored for days.",
            "Why was my account disabled? I want to appeal this decision.",
            "Permanent ban after someone reported me, the appeal form just errors out.",
            "Account locked for 'suspicious activity' but it was just me logging in from abroad.",
            "I submitted an appeal a week ago and got no response at all.",
        ],
        "de": ["Mein Konto wurde ohne Begründung gesperrt, ich möchte Einspruch einlegen.",
               "Ich wurde gebannt und auf meinen Einspruch antwortet niemand."],
        "fr": ["Mon compte a été suspendu sans explication, je fais appel de cette décision."],
        "es": ["Mi cuenta fue suspendida sin motivo y nadie responde a mi apelación."],
        "details": ["I've had this account for 6 years.", "All my photos are on there.",
                    "The email said I violated community guidelines."],
    },
    "payment_3ds": {
        "label": "Payment authentication (3-D Secure) fails",
        "keywords": ["3d secure", "payment", "authentication", "card declined", "bank app"],
        "product_area": "payments", "tags": ["payment", "psd2"], "weight": 8, "csat": 2.8,
        "en": [
            "Payment keeps failing at the 3-D Secure step, my bank app never asks to confirm.",
            "Card declined every time, the authentication popup just closes.",
            "The 3DS check times out before I can approve it in my banking app.",
            "Strong customer authentication fails and the payment is cancelled.",
            "I approve the payment in my bank app but checkout still says it failed.",
            "Can't pay with my Visa, stuck on the verify payment page.",
        ],
        "de": ["Die Zahlung scheitert bei 3-D Secure, die Banking-App fragt nie nach.",
               "Meine Karte wird immer abgelehnt, die Authentifizierung bricht ab."],
        "fr": ["Le paiement échoue à l'étape 3-D Secure, ma banque ne demande rien."],
        "es": ["El pago falla en el paso de 3-D Secure, la app del banco no pide confirmación."],
        "details": ["Card ending {last4}.", "Tried two different cards.",
                    "It worked fine last month."],
    },
    "app_crash": {
        "label": "App crashes", "keywords": ["crash", "app closes", "freezes"],
        "product_area": "mobile_app", "tags": ["crash", "app"], "weight": 8, "csat": 3.0,
        "en": [
            "The app crashes as soon as I open it.",
            "App keeps freezing and closing on the home screen.",
            "Every time I open my messages the app crashes.",
            "The app shuts down randomly while scrolling the feed.",
            "Crashes on startup since yesterday, reinstalling didn't help.",
        ],
        "de": ["Die App stürzt beim Öffnen sofort ab."],
        "fr": ["L'application plante dès que je l'ouvre."],
        "es": ["La aplicación se cierra sola al abrirla."],
        "details": ["I'm on Android 14.", "iPhone 13, latest iOS.", "Cleared the cache already."],
    },
    "shipping_delay": {
        "label": "Shipping delay", "keywords": ["delivery", "shipping", "package", "late"],
        "product_area": "logistics", "tags": ["shipping"], "weight": 10, "csat": 3.3,
        "en": [
            "My package is a week late and tracking hasn't updated.",
            "Order {order} was supposed to arrive Monday, still nothing.",
            "Delivery keeps getting postponed, where is my parcel?",
            "Tracking says out for delivery for 4 days now.",
            "The courier marked it delivered but I never got the package.",
            "Shipping is taking way longer than the estimate at checkout.",
        ],
        "de": ["Mein Paket ist seit einer Woche überfällig und die Sendungsverfolgung steht still.",
               "Die Lieferung wird immer wieder verschoben, wo ist mein Paket?"],
        "fr": ["Mon colis a une semaine de retard et le suivi n'est pas mis à jour."],
        "es": ["Mi paquete lleva una semana de retraso y el seguimiento no cambia."],
        "details": ["It's a birthday present.", "Paid for express shipping.",
                    "The carrier is {carrier_post}."],
    },
    "content_removal": {
        "label": "Content removed", "keywords": ["post removed", "video removed", "guidelines"],
        "product_area": "trust_safety", "tags": ["moderation"], "weight": 5, "csat": 2.6,
        "en": [
            "My post was removed for violating guidelines but it didn't break any rule.",
            "You deleted my video saying it was harmful, it was a cooking tutorial.",
            "Content taken down automatically, please review it manually.",
            "My comment got removed and I don't understand why.",
        ],
        "de": ["Mein Beitrag wurde entfernt, obwohl er gegen keine Regel verstößt."],
        "fr": ["Ma publication a été supprimée alors qu'elle respecte les règles."],
        "es": ["Eliminaron mi publicación aunque no incumplía ninguna norma."],
        "details": ["It had 10k views.", "Other people post the same thing."],
    },
    "gdpr_request": {
        "label": "Data access / deletion request",
        "keywords": ["delete my data", "gdpr", "data access", "personal data"],
        "product_area": "privacy", "tags": ["gdpr", "privacy"], "weight": 4, "csat": 3.5,
        "en": [
            "Please delete all my personal data under GDPR.",
            "I want a copy of all the data you hold about me (subject access request).",
            "I asked for my account and data to be deleted 30 days ago, still not done.",
            "How do I download my data? The export button doesn't work.",
        ],
        "de": ["Bitte löschen Sie alle meine personenbezogenen Daten gemäß DSGVO.",
               "Ich möchte eine Auskunft über alle gespeicherten Daten nach Art. 15 DSGVO."],
        "fr": ["Merci de supprimer toutes mes données personnelles conformément au RGPD."],
        "es": ["Solicito la eliminación de todos mis datos personales según el RGPD."],
        "details": ["This is my formal request.", "Please confirm in writing."],
    },
    "age_verification": {
        "label": "Age verification", "keywords": ["age verification", "id check", "selfie"],
        "product_area": "account", "tags": ["age", "kyc"], "weight": 4, "csat": 2.9,
        "en": [
            "The age verification keeps rejecting my ID even though I'm 34.",
            "Selfie age check fails every time, I can't access my account.",
            "Why do I need to verify my age again? I already uploaded my passport.",
            "Age verification is stuck on 'processing' for days.",
        ],
        "de": ["Die Altersverifikation lehnt meinen Ausweis immer wieder ab."],
        "fr": ["La vérification de l'âge refuse ma pièce d'identité."],
        "es": ["La verificación de edad rechaza mi documento una y otra vez."],
        "details": ["I used my driving licence.", "The photo was clear."],
    },
    "creator_payouts": {
        "label": "Creator payouts", "keywords": ["payout", "earnings", "creator fund"],
        "product_area": "creators", "tags": ["payout", "creators"], "weight": 5, "csat": 2.7,
        "en": [
            "My creator payout for last month is missing.",
            "Earnings show in the dashboard but the payout never reached my bank.",
            "Payout has been 'pending' for three weeks.",
            "The creator fund payment was lower than what the dashboard showed.",
        ],
        "de": ["Meine Creator-Auszahlung für letzten Monat fehlt."],
        "fr": ["Mon paiement de créateur du mois dernier n'est jamais arrivé."],
        "es": ["El pago de creador del mes pasado no ha llegado."],
        "details": ["It's about 300 USD.", "My tax info is complete."],
    },
    "subscription_cancel": {
        "label": "Cannot cancel subscription",
        "keywords": ["cancel subscription", "charged", "renewal"],
        "product_area": "billing", "tags": ["subscription", "billing"], "weight": 6, "csat": 2.8,
        "en": [
            "I cancelled my subscription but was charged again this month.",
            "There is no way to cancel the subscription in the app.",
            "Auto renewal charged me even though I turned it off.",
            "How do I stop my premium plan? The cancel button doesn't do anything.",
        ],
        "de": ["Ich habe mein Abo gekündigt und wurde trotzdem wieder belastet."],
        "fr": ["J'ai résilié mon abonnement mais j'ai encore été prélevé."],
        "es": ["Cancelé mi suscripción pero me volvieron a cobrar."],
        "details": ["Charged 12.99 again.", "I have the cancellation email."],
    },
    "praise": {
        "label": "Praise for support", "keywords": ["great", "helpful", "thanks"],
        "product_area": "support", "tags": ["praise"], "weight": 8, "csat": 4.7,
        "en": [
            "Great support, the agent solved my problem in minutes.",
            "Really helpful and friendly service, thank you!",
            "Quick answer and issue fixed, very happy.",
            "The chat assistant was surprisingly useful.",
            "Love the app, keep it up.",
        ],
        "de": ["Super Support, das Problem war in wenigen Minuten gelöst."],
        "fr": ["Service client rapide et très aimable, merci !"],
        "es": ["Muy buen servicio, resolvieron mi problema rápido."],
        "details": [],
    },
}

#: The brand-new issue planted in the last two weeks (never seen before).
NEW_ISSUE = {
    "key": "video_upload_crash", "label": "App crashes when uploading video after update 8.4",
    "keywords": ["upload", "video", "crash", "8.4", "update"],
    "product_area": "mobile_app", "tags": ["crash", "upload"], "csat": 1.9,
    "en": [
        "Since updating to 8.4 the app crashes every time I try to upload a video.",
        "After the 8.4 update, uploading a video makes the app close instantly.",
        "Video upload crashes the app since the latest update (8.4.0).",
        "Can't post videos anymore, app crashes at 99% of the upload after updating.",
        "Version 8.4 broke video uploads, it freezes then crashes.",
        "The new update crashes when I select a video to upload from my gallery.",
    ],
    "de": ["Seit dem Update auf 8.4 stürzt die App beim Hochladen von Videos ab."],
    "fr": ["Depuis la mise à jour 8.4, l'application plante quand j'envoie une vidéo."],
    "es": ["Desde la actualización 8.4 la app se cierra al subir un vídeo."],
    "details": ["Photos still upload fine.", "Tried three different videos.",
                "Reinstalling didn't help."],
}

CARRIERS = ["Vodafone", "T-Mobile", "Orange", "Movistar", "O2", "Jio", "Verizon"]
POST_CARRIERS = ["DHL", "UPS", "La Poste", "Correos", "Royal Mail", "FedEx"]
