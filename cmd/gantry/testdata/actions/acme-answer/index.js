const fs = require('fs');
console.log(`question: ${process.env.INPUT_QUESTION} (politeness ${process.env.INPUT_POLITENESS})`);
fs.appendFileSync(process.env.GITHUB_OUTPUT, 'answer=42\n');
