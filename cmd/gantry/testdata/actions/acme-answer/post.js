console.log('answer post step ran');
