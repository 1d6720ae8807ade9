CUSTOMERS = [
    {'name': 'Hayden Douglas DVM', 'email': 'heidihernandez@example.net', 'phone': '+1-484-588-9341x83448', 'ssn': '055-20-7035', 'card': '376220519011894', 'ip': '179.91.89.101'},
    {'name': 'Courtney Wilson', 'email': 'ihoover@example.net', 'phone': '+1-665-834-5956x625', 'ssn': '357-01-6996', 'card': '349932611002332', 'ip': 'bc78:aabe:70ee:c71f:c210:af7f:9331:7d3c'},
    {'name': 'Steve Harvey', 'email': 'dmorris@example.org', 'phone': '622.315.6728', 'ssn': '081-80-6572', 'card': '4430705550077215470', 'ip': 'cdc0:3856:c503:bd67:d0fd:7d43:52a0:3697'},
    {'name': 'Michelle Becker', 'email': 'taylorcampbell@example.net', 'phone': '001-272-932-3096x407', 'ssn': '457-40-0842', 'card': '4200889511371706', 'ip': '38.156.215.247'},
    {'name': 'Tiffany Lee', 'email': 'olopez@example.org', 'phone': '811-882-9139x07857', 'ssn': '087-55-9454', 'card': '213104738124711', 'ip': '132.32.18.39'},
]
